/*
 * caspr.custody._merkle: the hot loops of the caspr-por/1 builder in C.
 *
 * The format is defined in caspr/custody/por.py and docs/por.md; this module computes
 * exactly the same bytes as the pure-Python path there (tests compare both), only faster:
 * messages are assembled in place, hashed with OpenSSL's SHA-256 (the same library as
 * Python's hashlib), per-asset 128-bit sums are added with their overflow checked, and
 * the rows are split over threads with the GIL released.
 *
 * Values are per-asset unsigned integers, each 16 bytes big-endian (VALUE_BYTES in
 * por.py); a row of values is `width` = 16 * assets bytes.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

/* SHA256_Init/Update/Final are marked deprecated in OpenSSL 3 in favour of EVP, but they are
 * the same implementation (SHA-NI where the CPU has it) without EVP's per-call provider
 * dispatch: measured 80 ns against 180 ns for a one-block hash, 490 against 660 ns for a
 * node. Where OpenSSL was built without them, EVP is used: the bytes are the same. */
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#if !defined(OPENSSL_NO_DEPRECATED_3_0)
#define LOW_LEVEL_SHA256 1
#endif
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define HASH 32
#define VALUE 16
#define MAX_THREADS 64

typedef unsigned __int128 u128;

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define BE64(x) (x)
#else
#define BE64(x) __builtin_bswap64(x)
#endif

static EVP_MD *sha256_md = NULL;

/* ----------------------------------------------------------------------------------- */
/* 128-bit big-endian values */

static inline u128 load_be128(const unsigned char *p) {
    uint64_t hi, lo;
    memcpy(&hi, p, 8);
    memcpy(&lo, p + 8, 8);
    return ((u128)BE64(hi) << 64) | BE64(lo);
}

static inline void store_be128(unsigned char *p, u128 v) {
    uint64_t hi = BE64((uint64_t)(v >> 64)), lo = BE64((uint64_t)v);
    memcpy(p, &hi, 8);
    memcpy(p + 8, &lo, 8);
}

static inline int is_zero(const unsigned char *p) {
    uint64_t a, b;
    memcpy(&a, p, 8);
    memcpy(&b, p + 8, 8);
    return (a | b) == 0;
}

/* ----------------------------------------------------------------------------------- */
/* A new bytes object of `size` bytes, uninitialised. Large ones are advised onto huge pages
 * before their first touch, as NumPy does for its arrays: at millions of rows, faulting the
 * output in 4 KiB pages costs more than the work written into it. */

static PyObject *new_bytes(Py_ssize_t size) {
    PyObject *bytes = PyBytes_FromStringAndSize(NULL, size);
#ifdef MADV_HUGEPAGE
    const uintptr_t huge = (uintptr_t)1 << 21;
    if (bytes != NULL && size >= 2 * (Py_ssize_t)huge) {
        uintptr_t first = (uintptr_t)PyBytes_AS_STRING(bytes), last = first + (uintptr_t)size;
        first = (first + huge - 1) & ~(huge - 1);
        last &= ~(huge - 1);
        if (last > first) (void)madvise((void *)first, last - first, MADV_HUGEPAGE); /* advice only */
    }
#endif
    return bytes;
}

/* ----------------------------------------------------------------------------------- */
/* threads */

typedef struct job job;
typedef int (*row_fn)(job *, EVP_MD_CTX *, unsigned char *msg, Py_ssize_t row);

enum {
    OK = 0,
    EVP_FAILED = 1,
    OVERFLOW = 2,
    DUPLICATE = 3,
    BAD_ASSET = 4,
    NOT_LISTED = 5,
    NEGATIVE = 6,
    FINER = 7,
    RAND_FAILED = 8,
};

struct job {
    row_fn fn;
    Py_ssize_t start, stop;
    size_t msg_len;
    int failed;
    Py_ssize_t failed_row;
    /* inputs and outputs shared by every thread of a call */
    const unsigned char *prefix;
    size_t prefix_len;
    const unsigned char *nonces, *id_hashes; /* leaves */
    const unsigned char *hashes, *values;    /* level: children */
    const int64_t *order;                    /* gather: the source row of each row */
    const int64_t *offsets;                  /* ids: string offsets; sparse values: per account */
    const uint16_t *assets;                  /* sparse values: asset index per entry */
    const unsigned char *units;              /* sparse values: 16 bytes per entry; ids: string data */
    const unsigned char *pad;                /* level: the empty subtree's hash */
    Py_ssize_t count;                        /* level: number of children */
    size_t width;
    unsigned char *out_hash, *out_values;
    /* gather */
    int64_t *out_offsets;
    unsigned char *out_assets;
    size_t row_bytes;
    /* scale */
    const int32_t *asset_index;
    const void *extra; /* scale: the divisors; block: its shape */
    Py_ssize_t asset_count;
    Py_ssize_t grain; /* fewer rows than this: one thread (0: 4096) */
};

static int digest(EVP_MD_CTX *ctx, const unsigned char *msg, size_t len, unsigned char *out) {
#ifdef LOW_LEVEL_SHA256
    (void)ctx;
    SHA256_CTX state;
    return SHA256_Init(&state) && SHA256_Update(&state, msg, len) && SHA256_Final(out, &state);
#else
    unsigned int n;
    return EVP_DigestInit_ex2(ctx, sha256_md, NULL) && EVP_DigestUpdate(ctx, msg, len) &&
           EVP_DigestFinal_ex(ctx, out, &n);
#endif
}

static void *run(void *arg) {
    job *j = (job *)arg;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned char *msg = malloc(j->msg_len ? j->msg_len : 1);
    if (ctx == NULL || msg == NULL) {
        j->failed = EVP_FAILED;
    } else {
        for (Py_ssize_t row = j->start; row < j->stop; row++) {
            int rc = j->fn(j, ctx, msg, row);
            if (rc) {
                j->failed = rc;
                j->failed_row = row;
                break;
            }
        }
    }
    free(msg);
    EVP_MD_CTX_free(ctx);
    return NULL;
}

/* Run the row function of `template` over rows [0, rows) on `threads` threads, the GIL
 * released. Returns 0, or sets a Python error (naming the row) and returns -1. */
static int run_threads(job *template, Py_ssize_t rows, int threads) {
    job jobs[MAX_THREADS];
    pthread_t ids[MAX_THREADS];
    int started[MAX_THREADS] = {0};
    if (threads < 1) threads = 1;
    if (threads > MAX_THREADS) threads = MAX_THREADS;
    if (rows < (template->grain ? template->grain : 4096)) threads = 1;
    Py_BEGIN_ALLOW_THREADS;
    for (int t = 0; t < threads; t++) {
        jobs[t] = *template;
        jobs[t].start = rows * t / threads;
        jobs[t].stop = rows * (t + 1) / threads;
        jobs[t].failed = OK;
        if (t > 0 && pthread_create(&ids[t], NULL, run, &jobs[t]) == 0) started[t] = 1;
    }
    run(&jobs[0]);
    for (int t = 1; t < threads; t++) {
        if (started[t]) pthread_join(ids[t], NULL);
        else run(&jobs[t]); /* could not start a thread: do its share here */
    }
    Py_END_ALLOW_THREADS;
    for (int t = 0; t < threads; t++) {
        Py_ssize_t row = jobs[t].failed_row;
        switch (jobs[t].failed) {
        case OK: continue;
        case OVERFLOW:
            PyErr_Format(PyExc_OverflowError, "row %zd: a per-asset sum exceeds 2^128 - 1", row);
            return -1;
        case DUPLICATE:
            PyErr_Format(PyExc_ValueError, "row %zd: two balances for one asset", row);
            return -1;
        case BAD_ASSET:
            PyErr_Format(PyExc_ValueError, "row %zd: asset index outside the asset list", row);
            return -1;
        case NOT_LISTED:
            PyErr_Format(PyExc_ValueError, "balance row %zd: asset not in the asset list", row);
            return -1;
        case NEGATIVE: PyErr_Format(PyExc_ValueError, "balance row %zd: negative amount", row); return -1;
        case FINER:
            PyErr_Format(PyExc_ValueError, "balance row %zd: amount finer than the asset's scale", row);
            return -1;
        case RAND_FAILED: PyErr_SetString(PyExc_RuntimeError, "OpenSSL RAND_bytes failed"); return -1;
        default: PyErr_SetString(PyExc_RuntimeError, "OpenSSL SHA-256 failed"); return -1;
        }
    }
    return 0;
}

/* Check sparse values: offsets int64[accounts + 1] rising from 0 to the number of entries,
 * and, when given, `order` (int64[accounts]: the account at each leaf) a permutation of
 * 0..accounts-1, so that every account is one leaf and no leaf is two accounts. */
static int check_sparse(const Py_buffer *offsets, const Py_buffer *assets, const Py_buffer *units,
                        const Py_buffer *order, Py_ssize_t accounts) {
    Py_ssize_t k = assets->len / 2;
    const int64_t *off = offsets->buf;
    if (offsets->len != (accounts + 1) * 8 || assets->len % 2 || units->len != k * VALUE || off[0] != 0 ||
        off[accounts] != k || (order != NULL && order->len != accounts * 8)) {
        PyErr_SetString(PyExc_ValueError, "sparse values: inconsistent buffer sizes");
        return -1;
    }
    for (Py_ssize_t i = 0; i < accounts; i++) {
        if (off[i + 1] < off[i]) {
            PyErr_SetString(PyExc_ValueError, "sparse values: offsets must not decrease");
            return -1;
        }
    }
    if (order == NULL) return 0;
    const int64_t *account = order->buf;
    unsigned char *seen = calloc(accounts ? accounts : 1, 1);
    if (seen == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    int bad = 0;
    for (Py_ssize_t i = 0; i < accounts && !bad; i++) {
        int64_t a = account[i];
        if (a < 0 || a >= accounts || seen[a]) bad = 1;
        else seen[a] = 1;
    }
    free(seen);
    if (bad) {
        PyErr_SetString(PyExc_ValueError, "order: not a permutation of the accounts");
        return -1;
    }
    return 0;
}

/* Write the sparse values of row `a` into `out` (width bytes, zero elsewhere). */
static int expand(const job *j, int64_t a, unsigned char *out) {
    memset(out, 0, j->width);
    size_t assets = j->width / VALUE;
    for (int64_t e = j->offsets[a]; e < j->offsets[a + 1]; e++) {
        uint16_t asset = j->assets[e];
        if (asset >= assets) return BAD_ASSET;
        unsigned char *slot = out + (size_t)asset * VALUE;
        if (!is_zero(slot)) return DUPLICATE;
        memcpy(slot, j->units + e * VALUE, VALUE);
    }
    return OK;
}

/* How far ahead of its use a gather asks the memory for a row: the rows sit in a random
 * order, so every read would otherwise wait for memory. */
#define AHEAD 16

/* out = left + right per asset (16-byte big-endian values). */
static int add_values(const unsigned char *left, const unsigned char *right, unsigned char *out,
                      size_t width) {
    for (size_t k = 0; k < width; k += VALUE) {
        u128 x = load_be128(left + k), s = x + load_be128(right + k);
        if (s < x) return OVERFLOW;
        store_be128(out + k, s);
    }
    return OK;
}

/* ----------------------------------------------------------------------------------- */
/* ids(offsets int64[n+1], data, threads) -> n*32: SHA-256 of each string */

static int id_row(job *j, EVP_MD_CTX *ctx, unsigned char *Py_UNUSED(msg), Py_ssize_t row) {
    int64_t lo = j->offsets[row], hi = j->offsets[row + 1];
    return digest(ctx, j->units + lo, (size_t)(hi - lo), j->out_hash + row * HASH) ? OK : EVP_FAILED;
}

static PyObject *py_ids(PyObject *Py_UNUSED(self), PyObject *args) {
    Py_buffer offsets, data;
    int threads;
    if (!PyArg_ParseTuple(args, "y*y*i", &offsets, &data, &threads)) return NULL;
    PyObject *result = NULL;
    Py_ssize_t n = offsets.len / 8 - 1;
    const int64_t *off = offsets.buf;
    if (offsets.len % 8 || n < 0) {
        PyErr_SetString(PyExc_ValueError, "ids: offsets must be int64 with n + 1 entries");
        goto done;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        if (off[i] < 0 || off[i + 1] < off[i] || off[i + 1] > data.len) {
            PyErr_SetString(PyExc_ValueError, "ids: offsets outside the string data");
            goto done;
        }
    }
    result = new_bytes(n * HASH);
    if (result == NULL) goto done;
    job j = {0};
    j.fn = id_row;
    j.offsets = off;
    j.units = data.buf;
    j.out_hash = (unsigned char *)PyBytes_AS_STRING(result);
    if (run_threads(&j, n, threads)) Py_CLEAR(result);
done:
    PyBuffer_Release(&offsets);
    PyBuffer_Release(&data);
    return result;
}

/* ----------------------------------------------------------------------------------- */
/* Exact division by 10^e = 2^e * 5^e without a 128-bit divide (Hacker's Delight §10-16):
 * v is a multiple of 10^e iff its low e bits are zero and t = v >> e is a multiple of
 * 5^e; then t / 5^e = t * inverse(5^e) mod 2^128, and that product is at most
 * (2^128 - 1) / 5^e exactly when t is a multiple of 5^e. */
typedef struct {
    int shift;
    u128 inverse, limit;
} exact_divisor;

static exact_divisor power_of_ten(int e) {
    u128 five = 1;
    for (int i = 0; i < e; i++) five *= 5;
    u128 inverse = five; /* correct to 3 bits for an odd number; each step doubles them */
    for (int i = 0; i < 6; i++) inverse *= 2 - five * inverse;
    exact_divisor d = {e, inverse, ~(u128)0 / five};
    return d;
}

static inline int divide_exactly(u128 v, const exact_divisor *d, u128 *quotient) {
    if (d->shift == 0) {
        *quotient = v;
        return 1;
    }
    if (v & ((((u128)1) << d->shift) - 1)) return 0;
    u128 q = (v >> d->shift) * d->inverse;
    *quotient = q;
    return q <= d->limit;
}

/* scale(asset int32[k], exponent int32[assets], amounts decimal128[k], threads)
 *   -> units k*16
 * Each balance row's amount, an unscaled little-endian two's-complement decimal128, divided
 * exactly by 10^exponent[asset[r]] (to the asset's own scale) as a 16-byte big-endian
 * integer. asset[r] is the row's index in the asset list, -1 when not listed. Errors name
 * the first bad row: an asset not in the list, a negative amount, digits finer than the
 * asset's scale. */

static int scale_row(job *j, EVP_MD_CTX *Py_UNUSED(ctx), unsigned char *Py_UNUSED(msg), Py_ssize_t r) {
    int32_t a = j->asset_index[r];
    if (a < 0 || a >= j->asset_count) return NOT_LISTED;
    uint64_t lo, hi;
    memcpy(&lo, j->units + r * VALUE, 8);
    memcpy(&hi, j->units + r * VALUE + 8, 8);
    if (hi >> 63) return NEGATIVE;
    u128 q;
    if (!divide_exactly(((u128)hi << 64) | lo, (const exact_divisor *)j->extra + a, &q)) return FINER;
    store_be128(j->out_values + r * VALUE, q);
    return OK;
}

static PyObject *py_scale(PyObject *Py_UNUSED(self), PyObject *args) {
    Py_buffer asset, exponent, amounts;
    int threads;
    if (!PyArg_ParseTuple(args, "y*y*y*i", &asset, &exponent, &amounts, &threads)) return NULL;
    PyObject *out_units = NULL;
    Py_ssize_t k = asset.len / 4, assets = exponent.len / 4;
    exact_divisor divisor[1024];
    const int32_t *exp = exponent.buf;
    if (asset.len % 4 || exponent.len % 4 || amounts.len != k * VALUE || assets > 1024) {
        PyErr_SetString(PyExc_ValueError, "scale: inconsistent buffer sizes (at most 1024 assets)");
        goto done;
    }
    for (Py_ssize_t a = 0; a < assets; a++) {
        if (exp[a] < 0 || exp[a] > 38) {
            PyErr_SetString(PyExc_ValueError, "scale: exponent outside 0..38");
            goto done;
        }
        divisor[a] = power_of_ten(exp[a]);
    }
    out_units = new_bytes(k * VALUE);
    if (out_units == NULL) goto done;
    job j = {0};
    j.fn = scale_row;
    j.asset_index = asset.buf;
    j.asset_count = assets;
    j.extra = divisor;
    j.units = amounts.buf;
    j.out_values = (unsigned char *)PyBytes_AS_STRING(out_units);
    if (run_threads(&j, k, threads)) Py_CLEAR(out_units);
done:
    PyBuffer_Release(&asset);
    PyBuffer_Release(&exponent);
    PyBuffer_Release(&amounts);
    return out_units;
}

/* random(size, threads) -> bytes from OpenSSL's RAND_bytes: a NIST SP 800-90A CTR_DRBG
 * (AES-256) seeded from the operating system, one per thread. */

#define RANDOM_CHUNK (1 << 20)

static int random_row(job *j, EVP_MD_CTX *Py_UNUSED(ctx), unsigned char *Py_UNUSED(msg), Py_ssize_t r) {
    Py_ssize_t start = r * RANDOM_CHUNK, stop = start + RANDOM_CHUNK;
    if (stop > j->count) stop = j->count;
    return RAND_bytes(j->out_hash + start, (int)(stop - start)) == 1 ? OK : RAND_FAILED;
}

static PyObject *py_random(PyObject *Py_UNUSED(self), PyObject *args) {
    Py_ssize_t size;
    int threads;
    if (!PyArg_ParseTuple(args, "ni", &size, &threads)) return NULL;
    if (size < 0) {
        PyErr_SetString(PyExc_ValueError, "random: negative size");
        return NULL;
    }
    PyObject *result = new_bytes(size);
    if (result == NULL) return NULL;
    job j = {0};
    j.fn = random_row;
    j.count = size;
    j.out_hash = (unsigned char *)PyBytes_AS_STRING(result);
    j.grain = 2;
    Py_ssize_t chunks = (size + RANDOM_CHUNK - 1) / RANDOM_CHUNK;
    if (run_threads(&j, chunks, threads)) Py_CLEAR(result);
    return result;
}

/* ----------------------------------------------------------------------------------- */
/* shuffle(n) -> int64[n]: a uniformly random permutation of 0..n-1 for the leaf order,
 * Fisher-Yates (Knuth, TAOCP vol. 2, Algorithm 3.4.2P) driven by RAND_bytes, each index
 * drawn without bias by Lemire's multiply-and-reject ("Fast random integer generation in an
 * interval", ACM TOMACS 2019). Indices are drawn a batch ahead so that the swaps can ask
 * the memory for their targets ahead: the swaps are the cost, not the randomness. */

#define SHUFFLE_BATCH 4096

typedef struct {
    uint64_t words[SHUFFLE_BATCH];
    int next;
} word_stream;

static int next_word(word_stream *s, uint64_t *out) {
    if (s->next == SHUFFLE_BATCH) {
        if (RAND_bytes((unsigned char *)s->words, sizeof s->words) != 1) return RAND_FAILED;
        s->next = 0;
    }
    *out = s->words[s->next++];
    return OK;
}

/* A uniform integer in [0, range), range >= 1. */
static int bounded(word_stream *s, uint64_t range, uint64_t *out) {
    uint64_t x;
    if (next_word(s, &x)) return RAND_FAILED;
    u128 m = (u128)x * range;
    uint64_t low = (uint64_t)m;
    if (low < range) {
        uint64_t threshold = -range % range;
        while (low < threshold) {
            if (next_word(s, &x)) return RAND_FAILED;
            m = (u128)x * range;
            low = (uint64_t)m;
        }
    }
    *out = (uint64_t)(m >> 64);
    return OK;
}

static PyObject *py_shuffle(PyObject *Py_UNUSED(self), PyObject *args) {
    Py_ssize_t n;
    if (!PyArg_ParseTuple(args, "n", &n)) return NULL;
    if (n < 0) {
        PyErr_SetString(PyExc_ValueError, "shuffle: negative size");
        return NULL;
    }
    PyObject *result = new_bytes(n * 8);
    word_stream *stream = malloc(sizeof *stream);
    uint64_t *targets = malloc(SHUFFLE_BATCH * sizeof *targets);
    int rc = OK;
    if (result == NULL || stream == NULL || targets == NULL) {
        Py_XDECREF(result);
        free(stream);
        free(targets);
        return result == NULL ? NULL : PyErr_NoMemory();
    }
    int64_t *a = (int64_t *)PyBytes_AS_STRING(result);
    stream->next = SHUFFLE_BATCH;
    Py_BEGIN_ALLOW_THREADS;
    for (Py_ssize_t i = 0; i < n; i++) a[i] = i;
    /* i runs down from n - 1 to 1, swapping a[i] with a[j], j uniform in [0, i] */
    for (Py_ssize_t top = n - 1; top >= 1 && !rc; top -= SHUFFLE_BATCH) {
        Py_ssize_t count = top < SHUFFLE_BATCH ? top : SHUFFLE_BATCH;
        for (Py_ssize_t k = 0; k < count && !rc; k++) rc = bounded(stream, (uint64_t)(top - k) + 1, &targets[k]);
        for (Py_ssize_t k = 0; k < count && !rc; k++) {
            if (k + AHEAD < count) __builtin_prefetch(a + targets[k + AHEAD], 1);
            Py_ssize_t i = top - k, j = (Py_ssize_t)targets[k];
            int64_t swap = a[i];
            a[i] = a[j];
            a[j] = swap;
        }
    }
    Py_END_ALLOW_THREADS;
    free(stream);
    free(targets);
    if (rc) {
        Py_DECREF(result);
        PyErr_SetString(PyExc_RuntimeError, "OpenSSL RAND_bytes failed");
        return NULL;
    }
    return result;
}

/* gather(order int64[n], offsets int64[n+1], assets uint16[k], units k*16, threads)
 *   -> (offsets, assets, units): sparse rows put in the order `order` (row p of the result
 * is row order[p] of the input; `order` must be a permutation). The leaves sit in a
 * secret random order of the accounts, and hashing wants them contiguous: this copy,
 * with the memory asked for ahead, is far cheaper than random reads inside the hashing. */

static int length_row(job *j, EVP_MD_CTX *Py_UNUSED(ctx), unsigned char *Py_UNUSED(msg), Py_ssize_t p) {
    if (p + AHEAD < j->stop) __builtin_prefetch(j->offsets + j->order[p + AHEAD]);
    int64_t a = j->order[p];
    j->out_offsets[p + 1] = j->offsets[a + 1] - j->offsets[a];
    return OK;
}

static int copy_row(job *j, EVP_MD_CTX *Py_UNUSED(ctx), unsigned char *Py_UNUSED(msg), Py_ssize_t p) {
    if (p + 2 * AHEAD < j->stop) __builtin_prefetch(j->offsets + j->order[p + 2 * AHEAD]);
    if (p + AHEAD < j->stop) { /* its offsets were asked for AHEAD rows ago */
        int64_t ahead = j->offsets[j->order[p + AHEAD]];
        __builtin_prefetch(j->assets + ahead);
        __builtin_prefetch(j->units + ahead * VALUE);
        __builtin_prefetch(j->units + ahead * VALUE + 64);
    }
    int64_t a = j->order[p], from = j->offsets[a], count = j->offsets[a + 1] - from, to = j->out_offsets[p];
    memcpy(j->out_assets + to * 2, j->assets + from, (size_t)count * 2);
    memcpy(j->out_values + to * VALUE, j->units + from * VALUE, (size_t)count * VALUE);
    return OK;
}

static PyObject *py_gather(PyObject *Py_UNUSED(self), PyObject *args) {
    Py_buffer order, offsets, assets, units;
    int threads;
    if (!PyArg_ParseTuple(args, "y*y*y*y*i", &order, &offsets, &assets, &units, &threads)) return NULL;
    PyObject *out_offsets = NULL, *out_assets = NULL, *out_units = NULL, *result = NULL;
    Py_ssize_t n = order.len / 8, k = assets.len / 2;
    if (order.len % 8 || check_sparse(&offsets, &assets, &units, &order, n)) goto done;
    out_offsets = new_bytes((n + 1) * 8);
    out_assets = new_bytes(k * 2);
    out_units = new_bytes(k * VALUE);
    if (out_offsets == NULL || out_assets == NULL || out_units == NULL) goto done;
    job j = {0};
    j.order = order.buf;
    j.offsets = offsets.buf;
    j.assets = assets.buf;
    j.units = units.buf;
    j.out_offsets = (int64_t *)PyBytes_AS_STRING(out_offsets);
    j.out_assets = (unsigned char *)PyBytes_AS_STRING(out_assets);
    j.out_values = (unsigned char *)PyBytes_AS_STRING(out_units);
    j.out_offsets[0] = 0;
    j.fn = length_row;
    if (run_threads(&j, n, threads)) goto done;
    for (Py_ssize_t p = 0; p < n; p++) j.out_offsets[p + 1] += j.out_offsets[p];
    j.fn = copy_row;
    if (run_threads(&j, n, threads) == 0) result = PyTuple_Pack(3, out_offsets, out_assets, out_units);
done:
    Py_XDECREF(out_offsets);
    Py_XDECREF(out_assets);
    Py_XDECREF(out_units);
    PyBuffer_Release(&order);
    PyBuffer_Release(&offsets);
    PyBuffer_Release(&assets);
    PyBuffer_Release(&units);
    return result;
}

/* take(order int64[n], rows m*size, size, threads) -> n*size: row p is rows[order[p]]. */

static int take_row(job *j, EVP_MD_CTX *Py_UNUSED(ctx), unsigned char *Py_UNUSED(msg), Py_ssize_t p) {
    size_t size = j->row_bytes;
    if (p + AHEAD < j->stop) __builtin_prefetch(j->units + (size_t)j->order[p + AHEAD] * size);
    memcpy(j->out_values + (size_t)p * size, j->units + (size_t)j->order[p] * size, size);
    return OK;
}

static PyObject *py_take(PyObject *Py_UNUSED(self), PyObject *args) {
    Py_buffer order, rows;
    Py_ssize_t size;
    int threads;
    if (!PyArg_ParseTuple(args, "y*y*ni", &order, &rows, &size, &threads)) return NULL;
    PyObject *result = NULL;
    Py_ssize_t n = order.len / 8, m = size > 0 ? rows.len / size : 0;
    const int64_t *from = order.buf;
    if (size <= 0 || order.len % 8 || rows.len != m * size) {
        PyErr_SetString(PyExc_ValueError, "take: inconsistent buffer sizes");
        goto done;
    }
    for (Py_ssize_t p = 0; p < n; p++) {
        if (from[p] < 0 || from[p] >= m) {
            PyErr_SetString(PyExc_ValueError, "take: row outside the rows");
            goto done;
        }
    }
    result = new_bytes(n * size);
    if (result == NULL) goto done;
    job j = {0};
    j.fn = take_row;
    j.order = from;
    j.units = rows.buf;
    j.row_bytes = (size_t)size;
    j.out_values = (unsigned char *)PyBytes_AS_STRING(result);
    if (run_threads(&j, n, threads)) Py_CLEAR(result);
done:
    PyBuffer_Release(&order);
    PyBuffer_Release(&rows);
    return result;
}

/* leaves(prefix, nonces n*32, id_hashes n*32, offsets, assets, units, width, threads) -> n*32
 * leaf = SHA-256(prefix ‖ nonce ‖ id_hash ‖ values), prefix = 0x00 ‖ "caspr-por/1" ‖ audit;
 * values are given sparsely (offsets int64[n+1] into assets uint16[k] and units k*16). */

static int leaf_row(job *j, EVP_MD_CTX *ctx, unsigned char *msg, Py_ssize_t row) {
    unsigned char *p = msg;
    memcpy(p, j->prefix, j->prefix_len);
    p += j->prefix_len;
    memcpy(p, j->nonces + row * HASH, HASH);
    memcpy(p + HASH, j->id_hashes + row * HASH, HASH);
    int rc = expand(j, row, p + 2 * HASH);
    if (rc) return rc;
    return digest(ctx, msg, j->msg_len, j->out_hash + row * HASH) ? OK : EVP_FAILED;
}

static PyObject *py_leaves(PyObject *Py_UNUSED(self), PyObject *args) {
    Py_buffer prefix, nonces, id_hashes, offsets, assets, units;
    Py_ssize_t width;
    int threads;
    if (!PyArg_ParseTuple(args, "y*y*y*y*y*y*ni", &prefix, &nonces, &id_hashes, &offsets, &assets, &units,
                          &width, &threads))
        return NULL;
    PyObject *result = NULL;
    Py_ssize_t n = nonces.len / HASH;
    if (width <= 0 || width % VALUE || nonces.len != n * HASH || id_hashes.len != n * HASH) {
        PyErr_SetString(PyExc_ValueError, "leaves: inconsistent buffer sizes");
        goto done;
    }
    if (check_sparse(&offsets, &assets, &units, NULL, n)) goto done;
    result = new_bytes(n * HASH);
    if (result == NULL) goto done;
    job j = {0};
    j.fn = leaf_row;
    j.prefix = prefix.buf;
    j.prefix_len = prefix.len;
    j.msg_len = prefix.len + 2 * HASH + width;
    j.nonces = nonces.buf;
    j.id_hashes = id_hashes.buf;
    j.offsets = offsets.buf;
    j.assets = assets.buf;
    j.units = units.buf;
    j.width = width;
    j.out_hash = (unsigned char *)PyBytes_AS_STRING(result);
    if (run_threads(&j, n, threads)) Py_CLEAR(result);
done:
    PyBuffer_Release(&prefix);
    PyBuffer_Release(&nonces);
    PyBuffer_Release(&id_hashes);
    PyBuffer_Release(&offsets);
    PyBuffer_Release(&assets);
    PyBuffer_Release(&units);
    return result;
}

/* ----------------------------------------------------------------------------------- */
/* level(prefix, hashes c*32, values c*width, pad 32, width, threads) -> (hashes, values)
 * parent = SHA-256(prefix ‖ hL ‖ vL ‖ hR ‖ vR), prefix = 0x01 ‖ "caspr-por/1" ‖ audit ‖ level;
 * the parent's values are vL + vR per asset. An odd last child pairs with the empty
 * subtree `pad`, whose values are zero. */

/* Hash one parent into out_hash and sum its values into out_values. `msg` already starts
 * with the prefix (prefix_len bytes); the children are copied in behind it, so out_values
 * may be where a child's values were read from. A missing right child (right_hash NULL)
 * is the empty subtree `pad`, whose values are zero. Shared by `level` and `block`. */
static int parent(EVP_MD_CTX *ctx, unsigned char *msg, size_t prefix_len, size_t w,
                  const unsigned char *left_hash, const unsigned char *left_values,
                  const unsigned char *right_hash, const unsigned char *right_values,
                  const unsigned char *pad, unsigned char *out_hash, unsigned char *out_values) {
    unsigned char *hl = msg + prefix_len, *vl = hl + HASH, *hr = vl + w, *vr = hr + HASH;
    memcpy(hl, left_hash, HASH);
    memcpy(vl, left_values, w);
    if (right_hash != NULL) {
        memcpy(hr, right_hash, HASH);
        memcpy(vr, right_values, w);
    } else {
        memcpy(hr, pad, HASH);
        memset(vr, 0, w);
    }
    int rc = add_values(vl, vr, out_values, w);
    if (rc) return rc;
    return digest(ctx, msg, prefix_len + 2 * (HASH + w), out_hash) ? OK : EVP_FAILED;
}

static int node_row(job *j, EVP_MD_CTX *ctx, unsigned char *msg, Py_ssize_t row) {
    size_t w = j->width;
    Py_ssize_t left = 2 * row, right = 2 * row + 1;
    int paired = right < j->count;
    memcpy(msg, j->prefix, j->prefix_len);
    return parent(ctx, msg, j->prefix_len, w, j->hashes + left * HASH, j->values + left * w,
                  paired ? j->hashes + right * HASH : NULL, paired ? j->values + right * w : NULL, j->pad,
                  j->out_hash + row * HASH, j->out_values + row * w);
}

/* ----------------------------------------------------------------------------------- */
/* Debug builds only (compiled with -DCASPR_DEBUG, see docs/por.md): after `level` and
 * `block`, the per-asset sums of what went in equal those of what came out, so a kernel
 * that loses or creates a unit stops with the invariant's name instead of publishing a
 * wrong root. Release builds rely on the build's own root check (por.liabilities). */
#ifdef CASPR_DEBUG
#define MAX_DEBUG_ASSETS 4096

/* Add `rows` dense rows of values into sums[]; 1 when a sum passes 2^128 - 1. */
static int dense_sums(const unsigned char *values, Py_ssize_t rows, size_t width, u128 *sums) {
    for (Py_ssize_t r = 0; r < rows; r++) {
        for (size_t k = 0; k < width / VALUE; k++) {
            u128 x = sums[k];
            sums[k] += load_be128(values + (size_t)r * width + k * VALUE);
            if (sums[k] < x) return 1;
        }
    }
    return 0;
}

/* Add the sparse entries (asset index, 16-byte unit) into sums[]; 1 on overflow. */
static int sparse_sums(const uint16_t *assets, const unsigned char *units, Py_ssize_t k, u128 *sums) {
    for (Py_ssize_t e = 0; e < k; e++) {
        u128 x = sums[assets[e]];
        sums[assets[e]] += load_be128(units + (size_t)e * VALUE);
        if (sums[assets[e]] < x) return 1;
    }
    return 0;
}

/* -1 with SystemError naming the invariant when the two sums differ for some asset. */
static int check_conserved(const char *where, const u128 *in, const u128 *out, size_t assets) {
    for (size_t a = 0; a < assets; a++) {
        if (in[a] != out[a]) {
            PyErr_Format(PyExc_SystemError, "invariant %s-conserves-sums violated: asset %zu", where, a);
            return -1;
        }
    }
    return 0;
}

static int debug_level(const unsigned char *in, Py_ssize_t c, const unsigned char *out, Py_ssize_t m,
                       size_t width) {
    size_t assets = width / VALUE;
    if (assets > MAX_DEBUG_ASSETS) return 0;
    u128 before[MAX_DEBUG_ASSETS] = {0}, after[MAX_DEBUG_ASSETS] = {0};
    if (dense_sums(in, c, width, before) || dense_sums(out, m, width, after)) return 0; /* sums too big: the root level refuses them */
    return check_conserved("level", before, after, assets);
}

static int debug_block(const uint16_t *assets_of, const unsigned char *units, Py_ssize_t k,
                       const unsigned char *out, Py_ssize_t m, size_t width) {
    size_t assets = width / VALUE;
    if (assets > MAX_DEBUG_ASSETS) return 0;
    u128 before[MAX_DEBUG_ASSETS] = {0}, after[MAX_DEBUG_ASSETS] = {0};
    if (sparse_sums(assets_of, units, k, before) || dense_sums(out, m, width, after)) return 0;
    return check_conserved("block", before, after, assets);
}
#endif

static PyObject *py_level(PyObject *Py_UNUSED(self), PyObject *args) {
    Py_buffer prefix, hashes, values, pad;
    Py_ssize_t width;
    int threads;
    if (!PyArg_ParseTuple(args, "y*y*y*y*ni", &prefix, &hashes, &values, &pad, &width, &threads))
        return NULL;
    PyObject *out_h = NULL, *out_v = NULL, *result = NULL;
    Py_ssize_t c = hashes.len / HASH, m = (c + 1) / 2;
    if (width <= 0 || width % VALUE || hashes.len != c * HASH || values.len != c * width || pad.len != HASH) {
        PyErr_SetString(PyExc_ValueError, "level: inconsistent buffer sizes");
        goto done;
    }
    out_h = new_bytes(m * HASH);
    out_v = new_bytes(m * width);
    if (out_h == NULL || out_v == NULL) goto done;
    job j = {0};
    j.fn = node_row;
    j.prefix = prefix.buf;
    j.prefix_len = prefix.len;
    j.msg_len = prefix.len + 2 * (HASH + width);
    j.hashes = hashes.buf;
    j.values = values.buf;
    j.pad = pad.buf;
    j.count = c;
    j.width = width;
    j.out_hash = (unsigned char *)PyBytes_AS_STRING(out_h);
    j.out_values = (unsigned char *)PyBytes_AS_STRING(out_v);
    if (run_threads(&j, m, threads) == 0) result = PyTuple_Pack(2, out_h, out_v);
#ifdef CASPR_DEBUG
    if (result != NULL &&
        debug_level(values.buf, c, (const unsigned char *)PyBytes_AS_STRING(out_v), m, (size_t)width))
        Py_CLEAR(result);
#endif
done:
    Py_XDECREF(out_h);
    Py_XDECREF(out_v);
    PyBuffer_Release(&prefix);
    PyBuffer_Release(&hashes);
    PyBuffer_Release(&values);
    PyBuffer_Release(&pad);
    return result;
}

/* block(base, leaves c*32, offsets, assets, units, pads levels*32, levels, width, threads)
 *   -> (hashes, values) of the nodes at `levels`, each made from its 2^levels leaves in one
 * go: the nodes below are hashed exactly as `level` would (prefix = base ‖ level byte, an
 * odd last child paired with that level's empty subtree pads[level]) but never stored, so
 * the lowest, widest levels cost no memory traffic. Leaf values are given sparsely. */

#define MAX_BLOCK_LEVELS 8

typedef struct {
    Py_ssize_t leaves; /* c */
    int levels;
    const unsigned char *pads;
} block_shape;

static int block_row(job *j, EVP_MD_CTX *ctx, unsigned char *msg, Py_ssize_t row) {
    const block_shape *shape = (const block_shape *)j->extra;
    size_t w = j->width, base = j->prefix_len;
    Py_ssize_t span = (Py_ssize_t)1 << shape->levels, first = row * span;
    Py_ssize_t count = shape->leaves - first < span ? shape->leaves - first : span;
    unsigned char *hashes = msg + base + 1 + 2 * (HASH + w), *values = hashes + span * HASH;
    int rc = OK;
    for (Py_ssize_t i = 0; i < count && !rc; i++) {
        memcpy(hashes + i * HASH, j->hashes + (first + i) * HASH, HASH);
        rc = expand(j, first + i, values + i * w);
    }
    memcpy(msg, j->prefix, base);
    for (int level = 1; level <= shape->levels && !rc; level++) {
        msg[base] = (unsigned char)level;
        const unsigned char *pad = shape->pads + (level - 1) * HASH;
        Py_ssize_t parents = (count + 1) / 2;
        for (Py_ssize_t i = 0; i < parents && !rc; i++) {
            int paired = 2 * i + 1 < count;
            rc = parent(ctx, msg, base + 1, w, hashes + 2 * i * HASH, values + 2 * i * w,
                        paired ? hashes + (2 * i + 1) * HASH : NULL, paired ? values + (2 * i + 1) * w : NULL,
                        pad, hashes + i * HASH, values + i * w);
        }
        count = parents;
    }
    if (rc) return rc;
    memcpy(j->out_hash + row * HASH, hashes, HASH);
    memcpy(j->out_values + row * w, values, w);
    return OK;
}

static PyObject *py_block(PyObject *Py_UNUSED(self), PyObject *args) {
    Py_buffer base, leaves, offsets, assets, units, pads;
    int levels, threads;
    Py_ssize_t width;
    if (!PyArg_ParseTuple(args, "y*y*y*y*y*y*ini", &base, &leaves, &offsets, &assets, &units, &pads, &levels,
                          &width, &threads))
        return NULL;
    PyObject *out_h = NULL, *out_v = NULL, *result = NULL;
    Py_ssize_t c = leaves.len / HASH;
    if (levels < 1 || levels > MAX_BLOCK_LEVELS || width <= 0 || width % VALUE || leaves.len != c * HASH ||
        pads.len != levels * HASH) {
        PyErr_SetString(PyExc_ValueError, "block: inconsistent buffer sizes");
        goto done;
    }
    if (check_sparse(&offsets, &assets, &units, NULL, c)) goto done;
    Py_ssize_t span = (Py_ssize_t)1 << levels, m = (c + span - 1) / span;
    out_h = new_bytes(m * HASH);
    out_v = new_bytes(m * width);
    if (out_h == NULL || out_v == NULL) goto done;
    block_shape shape = {c, levels, pads.buf};
    job j = {0};
    j.fn = block_row;
    j.prefix = base.buf;
    j.prefix_len = base.len;
    /* per thread: one node message, then the block's hashes and values */
    j.msg_len = base.len + 1 + 2 * (HASH + width) + span * (HASH + width);
    j.hashes = leaves.buf;
    j.offsets = offsets.buf;
    j.assets = assets.buf;
    j.units = units.buf;
    j.width = width;
    j.extra = &shape;
    j.grain = 256;
    j.out_hash = (unsigned char *)PyBytes_AS_STRING(out_h);
    j.out_values = (unsigned char *)PyBytes_AS_STRING(out_v);
    if (run_threads(&j, m, threads) == 0) result = PyTuple_Pack(2, out_h, out_v);
#ifdef CASPR_DEBUG
    if (result != NULL && debug_block(assets.buf, units.buf, assets.len / 2,
                                      (const unsigned char *)PyBytes_AS_STRING(out_v), m, (size_t)width))
        Py_CLEAR(result);
#endif
done:
    Py_XDECREF(out_h);
    Py_XDECREF(out_v);
    PyBuffer_Release(&base);
    PyBuffer_Release(&leaves);
    PyBuffer_Release(&offsets);
    PyBuffer_Release(&assets);
    PyBuffer_Release(&units);
    PyBuffer_Release(&pads);
    return result;
}

/* ----------------------------------------------------------------------------------- */

static PyMethodDef methods[] = {
    {"ids", py_ids, METH_VARARGS, "ids(offsets, data, threads) -> bytes: SHA-256 of each string."},
    {"scale", py_scale, METH_VARARGS,
     "scale(asset, exponent, amounts, threads) -> units: balance amounts at each asset's scale."},
    {"random", py_random, METH_VARARGS, "random(size, threads) -> bytes from OpenSSL's CTR_DRBG."},
    {"shuffle", py_shuffle, METH_VARARGS, "shuffle(n) -> bytes: a uniformly random permutation (int64)."},
    {"gather", py_gather, METH_VARARGS,
     "gather(order, offsets, assets, units, threads) -> (offsets, assets, units): sparse rows reordered."},
    {"take", py_take, METH_VARARGS, "take(order, rows, size, threads) -> bytes: fixed-size rows reordered."},
    {"leaves", py_leaves, METH_VARARGS,
     "leaves(prefix, nonces, id_hashes, offsets, assets, units, width, threads) -> bytes: leaf hashes."},
    {"level", py_level, METH_VARARGS,
     "level(prefix, hashes, values, pad, width, threads) -> (hashes, values): a level's parents."},
    {"block", py_block, METH_VARARGS,
     "block(base, leaves, offsets, assets, units, pads, levels, width, threads) -> (hashes, values)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_merkle", "caspr-por/1 hot loops (OpenSSL SHA-256, threads).", -1, methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__merkle(void) {
    if (sha256_md == NULL) sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
    if (sha256_md == NULL) {
        PyErr_SetString(PyExc_ImportError, "OpenSSL has no SHA-256");
        return NULL;
    }
    return PyModule_Create(&module);
}
