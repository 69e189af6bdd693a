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

#include <openssl/evp.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

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
/* threads */

typedef struct job job;
typedef int (*row_fn)(job *, EVP_MD_CTX *, unsigned char *msg, Py_ssize_t row);

enum { OK = 0, EVP_FAILED = 1, OVERFLOW = 2, DUPLICATE = 3, BAD_ASSET = 4 };

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
    const int64_t *offsets;                  /* ids: string offsets; sparse values: per row */
    const uint16_t *assets;                  /* sparse values: asset index per entry */
    const unsigned char *units;              /* sparse values: 16 bytes per entry; ids: string data */
    const unsigned char *pad;                /* level: the empty subtree's hash */
    Py_ssize_t count;                        /* level: number of children */
    size_t width;
    unsigned char *out_hash, *out_values;
};

static int digest(EVP_MD_CTX *ctx, const unsigned char *msg, size_t len, unsigned char *out) {
    unsigned int n;
    return EVP_DigestInit_ex2(ctx, sha256_md, NULL) && EVP_DigestUpdate(ctx, msg, len) &&
           EVP_DigestFinal_ex(ctx, out, &n);
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
    if (rows < 4096) threads = 1;
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
        default: PyErr_SetString(PyExc_RuntimeError, "OpenSSL SHA-256 failed"); return -1;
        }
    }
    return 0;
}

/* Check sparse rows: offsets int64[rows + 1] rising from 0 to the number of entries. */
static int check_sparse(const Py_buffer *offsets, const Py_buffer *assets, const Py_buffer *units,
                        Py_ssize_t rows) {
    Py_ssize_t k = assets->len / 2;
    const int64_t *off = offsets->buf;
    if (offsets->len != (rows + 1) * 8 || assets->len % 2 || units->len != k * VALUE || off[0] != 0 ||
        off[rows] != k) {
        PyErr_SetString(PyExc_ValueError, "sparse values: inconsistent buffer sizes");
        return -1;
    }
    for (Py_ssize_t i = 0; i < rows; i++) {
        if (off[i + 1] < off[i]) {
            PyErr_SetString(PyExc_ValueError, "sparse values: offsets must not decrease");
            return -1;
        }
    }
    return 0;
}

/* Write sparse row `row`'s values into `out` (width bytes, zero elsewhere). */
static int expand(const job *j, Py_ssize_t row, unsigned char *out) {
    memset(out, 0, j->width);
    size_t assets = j->width / VALUE;
    for (int64_t e = j->offsets[row]; e < j->offsets[row + 1]; e++) {
        uint16_t a = j->assets[e];
        if (a >= assets) return BAD_ASSET;
        unsigned char *slot = out + (size_t)a * VALUE;
        if (!is_zero(slot)) return DUPLICATE;
        memcpy(slot, j->units + e * VALUE, VALUE);
    }
    return OK;
}

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
    result = PyBytes_FromStringAndSize(NULL, n * HASH);
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

/* scale(code int32[k], asset_of int32[d], exponent int32[assets], amounts decimal128[k])
 *   -> (assets uint16[k], units k*16)
 * Each balance row's asset index (asset_of[code]) and its amount, an unscaled
 * little-endian two's-complement decimal128, divided exactly by 10^exponent[asset] (to the
 * asset's own scale) as a 16-byte big-endian integer. Errors name the row: an asset not
 * in the list, a negative amount, digits finer than the asset's scale. */

static PyObject *py_scale(PyObject *Py_UNUSED(self), PyObject *args) {
    Py_buffer code, asset_of, exponent, amounts;
    if (!PyArg_ParseTuple(args, "y*y*y*y*", &code, &asset_of, &exponent, &amounts)) return NULL;
    PyObject *out_assets = NULL, *out_units = NULL, *result = NULL;
    Py_ssize_t k = code.len / 4, d = asset_of.len / 4, assets = exponent.len / 4;
    exact_divisor divisor[1024];
    const int32_t *exp = exponent.buf;
    if (code.len % 4 || asset_of.len % 4 || exponent.len % 4 || amounts.len != k * VALUE ||
        assets > 1024) {
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
    out_assets = PyBytes_FromStringAndSize(NULL, k * 2);
    out_units = PyBytes_FromStringAndSize(NULL, k * VALUE);
    if (out_assets == NULL || out_units == NULL) goto done;
    uint16_t *which = (uint16_t *)PyBytes_AS_STRING(out_assets);
    unsigned char *units = (unsigned char *)PyBytes_AS_STRING(out_units);
    const int32_t *codes = code.buf, *map = asset_of.buf;
    const unsigned char *amount = amounts.buf;
    Py_ssize_t bad = -1;
    const char *why = NULL;
    Py_BEGIN_ALLOW_THREADS;
    for (Py_ssize_t r = 0; r < k; r++) {
        int32_t c = codes[r];
        int32_t a = (c >= 0 && c < d) ? map[c] : -1;
        if (a < 0 || a >= assets) {
            bad = r, why = "asset not in the asset list";
            break;
        }
        uint64_t lo, hi;
        memcpy(&lo, amount + r * VALUE, 8);
        memcpy(&hi, amount + r * VALUE + 8, 8);
        u128 q;
        if (hi >> 63) {
            bad = r, why = "negative amount";
            break;
        }
        if (!divide_exactly(((u128)hi << 64) | lo, &divisor[a], &q)) {
            bad = r, why = "amount finer than the asset's scale";
            break;
        }
        which[r] = (uint16_t)a;
        store_be128(units + r * VALUE, q);
    }
    Py_END_ALLOW_THREADS;
    if (bad >= 0) PyErr_Format(PyExc_ValueError, "balance row %zd: %s", bad, why);
    else result = PyTuple_Pack(2, out_assets, out_units);
done:
    Py_XDECREF(out_assets);
    Py_XDECREF(out_units);
    PyBuffer_Release(&code);
    PyBuffer_Release(&asset_of);
    PyBuffer_Release(&exponent);
    PyBuffer_Release(&amounts);
    return result;
}

/* ----------------------------------------------------------------------------------- */
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
    if (!PyArg_ParseTuple(args, "y*y*y*y*y*y*ni", &prefix, &nonces, &id_hashes, &offsets, &assets,
                          &units, &width, &threads))
        return NULL;
    PyObject *result = NULL;
    Py_ssize_t n = nonces.len / HASH;
    if (width <= 0 || width % VALUE || nonces.len != n * HASH || id_hashes.len != n * HASH) {
        PyErr_SetString(PyExc_ValueError, "leaves: inconsistent buffer sizes");
        goto done;
    }
    if (check_sparse(&offsets, &assets, &units, n)) goto done;
    result = PyBytes_FromStringAndSize(NULL, n * HASH);
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
 * level_sparse(prefix, hashes c*32, offsets, assets, units, pad 32, width, threads): the
 * same with the children's values given sparsely (the leaves).
 * parent = SHA-256(prefix ‖ hL ‖ vL ‖ hR ‖ vR), prefix = 0x01 ‖ "caspr-por/1" ‖ audit ‖ level;
 * the parent's values are vL + vR per asset. An odd last child pairs with the empty
 * subtree `pad`, whose values are zero. */

static int node_row(job *j, EVP_MD_CTX *ctx, unsigned char *msg, Py_ssize_t row) {
    size_t w = j->width;
    Py_ssize_t left = 2 * row, right = 2 * row + 1;
    unsigned char *hl = msg + j->prefix_len, *vl = hl + HASH, *hr = vl + w, *vr = hr + HASH;
    memcpy(msg, j->prefix, j->prefix_len);
    memcpy(hl, j->hashes + left * HASH, HASH);
    int rc = OK;
    if (j->values) memcpy(vl, j->values + left * w, w);
    else rc = expand(j, left, vl);
    if (right < j->count) {
        memcpy(hr, j->hashes + right * HASH, HASH);
        if (j->values) memcpy(vr, j->values + right * w, w);
        else if (!rc) rc = expand(j, right, vr);
    } else {
        memcpy(hr, j->pad, HASH);
        memset(vr, 0, w);
    }
    if (!rc) rc = add_values(vl, vr, j->out_values + row * w, w);
    if (rc) return rc;
    return digest(ctx, msg, j->msg_len, j->out_hash + row * HASH) ? OK : EVP_FAILED;
}

static PyObject *parents(job *j, Py_buffer *prefix, Py_buffer *hashes, Py_buffer *pad, Py_ssize_t width,
                         int threads) {
    Py_ssize_t c = hashes->len / HASH, m = (c + 1) / 2;
    PyObject *out_h = NULL, *out_v = NULL, *result = NULL;
    if (width <= 0 || width % VALUE || hashes->len != c * HASH || pad->len != HASH) {
        PyErr_SetString(PyExc_ValueError, "level: inconsistent buffer sizes");
        return NULL;
    }
    out_h = PyBytes_FromStringAndSize(NULL, m * HASH);
    out_v = PyBytes_FromStringAndSize(NULL, m * width);
    if (out_h != NULL && out_v != NULL) {
        j->fn = node_row;
        j->prefix = prefix->buf;
        j->prefix_len = prefix->len;
        j->msg_len = prefix->len + 2 * (HASH + width);
        j->hashes = hashes->buf;
        j->pad = pad->buf;
        j->count = c;
        j->width = width;
        j->out_hash = (unsigned char *)PyBytes_AS_STRING(out_h);
        j->out_values = (unsigned char *)PyBytes_AS_STRING(out_v);
        if (run_threads(j, m, threads) == 0) result = PyTuple_Pack(2, out_h, out_v);
    }
    Py_XDECREF(out_h);
    Py_XDECREF(out_v);
    return result;
}

static PyObject *py_level(PyObject *Py_UNUSED(self), PyObject *args) {
    Py_buffer prefix, hashes, values, pad;
    Py_ssize_t width;
    int threads;
    if (!PyArg_ParseTuple(args, "y*y*y*y*ni", &prefix, &hashes, &values, &pad, &width, &threads))
        return NULL;
    PyObject *result = NULL;
    if (width > 0 && values.len != (hashes.len / HASH) * width) {
        PyErr_SetString(PyExc_ValueError, "level: inconsistent buffer sizes");
    } else {
        job j = {0};
        j.values = values.buf;
        result = parents(&j, &prefix, &hashes, &pad, width, threads);
    }
    PyBuffer_Release(&prefix);
    PyBuffer_Release(&hashes);
    PyBuffer_Release(&values);
    PyBuffer_Release(&pad);
    return result;
}

static PyObject *py_level_sparse(PyObject *Py_UNUSED(self), PyObject *args) {
    Py_buffer prefix, hashes, offsets, assets, units, pad;
    Py_ssize_t width;
    int threads;
    if (!PyArg_ParseTuple(args, "y*y*y*y*y*y*ni", &prefix, &hashes, &offsets, &assets, &units, &pad,
                          &width, &threads))
        return NULL;
    PyObject *result = NULL;
    if (check_sparse(&offsets, &assets, &units, hashes.len / HASH) == 0) {
        job j = {0};
        j.offsets = offsets.buf;
        j.assets = assets.buf;
        j.units = units.buf;
        result = parents(&j, &prefix, &hashes, &pad, width, threads);
    }
    PyBuffer_Release(&prefix);
    PyBuffer_Release(&hashes);
    PyBuffer_Release(&offsets);
    PyBuffer_Release(&assets);
    PyBuffer_Release(&units);
    PyBuffer_Release(&pad);
    return result;
}

/* ----------------------------------------------------------------------------------- */

static PyMethodDef methods[] = {
    {"ids", py_ids, METH_VARARGS, "ids(offsets, data, threads) -> bytes: SHA-256 of each string."},
    {"scale", py_scale, METH_VARARGS,
     "scale(code, asset_of, exponent, amounts) -> (assets, units): balance rows at each asset's scale."},
    {"leaves", py_leaves, METH_VARARGS,
     "leaves(prefix, nonces, id_hashes, offsets, assets, units, width, threads) -> bytes: leaf hashes."},
    {"level", py_level, METH_VARARGS,
     "level(prefix, hashes, values, pad, width, threads) -> (hashes, values): a level's parents."},
    {"level_sparse", py_level_sparse, METH_VARARGS,
     "level_sparse(prefix, hashes, offsets, assets, units, pad, width, threads) -> (hashes, values)."},
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
