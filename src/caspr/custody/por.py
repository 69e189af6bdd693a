"""Proof of liabilities, caspr's own format ``caspr-por/1``: a Merkle sum tree per asset.

Designed against the known flaws of published formats (research/por.md §6.2-6.3):

* **Integer amounts per asset at the asset's ledger scale**, encoded as 16-byte unsigned
  big-endian integers; a proof with a negative, non-canonical or ≥ 2^128 value, or whose
  sums overflow 2^128, is rejected.
* **Each parent commits to both children's hashes and both children's per-asset values**
  (Hu, Zhang & Guo's "Maxwell+" shape), so the max(vL, vR) parent-sum attack fails.
* **Domain separation**: leaves, nodes and empty subtrees have distinct one-byte tags and
  the format name; every hash binds the audit id (so nodes cannot be replayed across
  audits) and every node its level (so a node cannot pose as a leaf or sit at another
  height). Full 256-bit SHA-256, never truncated.
* **A fresh random 32-byte nonce per customer per audit**; the leaf binds
  SHA-256(account_id), so a leaf reveals nothing about who it is, two customers cannot
  share a leaf, and leaves cannot be linked across audits.
* **Fixed height from a coarse ladder (16, 20, 24, 28, 32)** with empty subtrees whose
  hashes derive from a secret padding key: a customer learns the ladder step, not the
  number of customers. Leaves sit at secretly shuffled positions.

Hashes (``‖`` concatenation; ``A`` the asset count)::

    audit = SHA-256(canonical JSON of {audit_id, exchange, as_of, assets: [{code, scale}]})
    leaf  = SHA-256(0x00 ‖ "caspr-por/1" ‖ audit ‖ nonce ‖ SHA-256(account_id) ‖ v[0..A))
    node  = SHA-256(0x01 ‖ "caspr-por/1" ‖ audit ‖ level ‖ hL ‖ vL[0..A) ‖ hR ‖ vR[0..A))
    empty0 = SHA-256(0x02 ‖ "caspr-por/1" ‖ audit ‖ padding_key);  emptyₖ = node(k, emptyₖ₋₁, 0, emptyₖ₋₁, 0)

``level`` is one byte, the level of the node being made (leaves are level 0, the root is
level ``height``). The side of each sibling comes from the bits of ``leaf_index``, never
from the proof. The proof and root documents are described in docs/por.md.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import multiprocessing as mp
import os
import re
import secrets
import shutil
import tempfile
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from caspr.engine import Engine, rows_by_asset
from caspr.money import canonical
from caspr.snapshot.loader import Snapshot
from caspr.units import decimal_limbs

FORMAT = "caspr-por/1"
_NAME = FORMAT.encode()
LEAF_TAG = b"\x00" + _NAME
NODE_TAG = b"\x01" + _NAME
EMPTY_TAG = b"\x02" + _NAME
LADDER = (16, 20, 24, 28, 32)
VALUE_BYTES = 16
MAX_VALUE = 2**128 - 1
ROW_GROUP = 65_536
_UNITS = re.compile(r"^(0|[1-9][0-9]*)$")
_HEX32 = re.compile(r"^[0-9a-f]{64}$")


def sha256(data: bytes) -> bytes:
    """SHA-256 digest."""
    return hashlib.sha256(data).digest()


def audit_tag(audit_id: str, exchange: str, as_of: str, assets: list[dict[str, Any]]) -> bytes:
    """32 bytes that bind every hash to the audit, the exchange, the date and the asset list.

    Binding the asset list (codes, order and scales) means a proof cannot be re-read at
    another scale or with its assets reordered.
    """
    canonical_json = json.dumps(
        {"audit_id": audit_id, "exchange": exchange, "as_of": as_of, "assets": assets},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return sha256(canonical_json.encode())


def height_for(customers: int) -> int:
    """The smallest ladder height whose tree holds ``customers`` leaves."""
    for height in LADDER:
        if customers <= 2**height:
            return height
    msg = f"{customers} customers exceed 2^{LADDER[-1]} leaves"
    raise ValueError(msg)


def encode_values(values: list[int]) -> bytes:
    """Per-asset values as 16-byte big-endian unsigned integers."""
    return b"".join(v.to_bytes(VALUE_BYTES, "big") for v in values)


def leaf_hash(audit: bytes, nonce: bytes, account_id: str, values: list[int]) -> bytes:
    """The leaf of one customer."""
    return sha256(LEAF_TAG + audit + nonce + sha256(account_id.encode()) + encode_values(values))


def node_hash(
    audit: bytes, level: int, left: bytes, left_values: list[int], right: bytes, right_values: list[int]
) -> bytes:
    """A parent at ``level`` committing to both children's hashes and values."""
    return sha256(
        NODE_TAG
        + audit
        + bytes([level])
        + left
        + encode_values(left_values)
        + right
        + encode_values(right_values)
    )


def empty_hashes(audit: bytes, padding_key: bytes, height: int, assets: int) -> list[bytes]:
    """Hashes of empty subtrees at levels 0..height-1."""
    zeros = [0] * assets
    hashes = [sha256(EMPTY_TAG + audit + padding_key)]
    for level in range(1, height):
        hashes.append(node_hash(audit, level, hashes[-1], zeros, hashes[-1], zeros))
    return hashes


# ---------------------------------------------------------------------------------------
# building (vectorised: values as two uint64 limbs, messages as uint8 matrices)


def _be_bytes(limbs: Any) -> Any:
    """(n, A, 2) [lo, hi] limbs → (n, A*16) big-endian bytes."""
    n, assets, _ = limbs.shape
    ordered = limbs[:, :, ::-1].astype(">u8")
    return np.ascontiguousarray(ordered).view(np.uint8).reshape(n, assets * VALUE_BYTES)


def _add(left: Any, right: Any) -> Any:
    """Per-asset 128-bit sums of (m, A, 2) limb arrays; raises on overflow."""
    lo = left[..., 0] + right[..., 0]
    carry = (lo < left[..., 0]).astype(np.uint64)
    right_hi = right[..., 1] + carry
    hi = left[..., 1] + right_hi
    if bool(np.any((right_hi < right[..., 1]) | (hi < left[..., 1]))):
        msg = "a per-asset sum exceeds 2^128 - 1"
        raise OverflowError(msg)
    return np.stack([lo, hi], axis=-1)


PARALLEL_ROWS = 200_000
"""Work of at least this many rows is split over one forked process per core."""

_SHARED: Any = None  # what forked workers read (inherited, never pickled)


def _hash_slice(start: int, stop: int) -> bytes:
    """Digests of rows ``start:stop`` of the shared uint8 matrix, concatenated (in a worker)."""
    width = _SHARED.shape[1]
    flat = memoryview(_SHARED.reshape(-1))
    sha = hashlib.sha256
    return b"".join([sha(flat[i : i + width]).digest() for i in range(start * width, stop * width, width)])


def _id_slice(start: int, stop: int) -> bytes:
    """SHA-256 of the shared account ids ``start:stop``, concatenated (in a worker)."""
    sha = hashlib.sha256
    return b"".join([sha(x.encode()).digest() for x in _SHARED[start:stop]])


def _workers() -> int:
    if "fork" not in mp.get_all_start_methods():
        return 1
    return max(1, min(os.cpu_count() or 1, 8))


def _fork_map(task: Any, shared: Any, rows: int) -> bytes:
    """Run ``task(start, stop)`` over ``rows`` split across forked workers; join the results.

    The workers inherit ``shared`` at fork (no copy, no pickling) and return only bytes.
    """
    global _SHARED  # noqa: PLW0603 - handed to forked workers by inheritance
    _SHARED = shared
    workers = _workers()
    try:
        if workers == 1 or rows < PARALLEL_ROWS:
            return bytes(task(0, rows))
        bounds = np.linspace(0, rows, workers + 1, dtype=np.int64)
        with mp.get_context("fork").Pool(workers) as pool:
            parts = pool.starmap(task, [(int(a), int(b)) for a, b in itertools.pairwise(bounds)])
        return b"".join(parts)
    finally:
        _SHARED = None


def _hash_rows(matrix: Any) -> Any:
    """SHA-256 of every row of a uint8 matrix, as an (n, 32) uint8 array."""
    digests = _fork_map(_hash_slice, np.ascontiguousarray(matrix), matrix.shape[0])
    return np.frombuffer(digests, dtype=np.uint8).reshape(-1, 32)


def _account_hashes(ids: list[str]) -> Any:
    """SHA-256 of every account id, (n, 32) uint8."""
    digests = _fork_map(_id_slice, ids, len(ids))
    return np.frombuffer(digests, dtype=np.uint8).reshape(len(ids), 32)


def _parents(audit: bytes, level: int, hashes: Any, encoded: Any, values: Any) -> tuple[Any, Any]:
    """Hash pairs of children at ``level - 1`` into parents at ``level``.

    ``encoded`` is ``values`` already in big-endian bytes (computed once per level).
    """
    m = hashes.shape[0] // 2
    prefix = NODE_TAG + audit + bytes([level])
    width = encoded.shape[1]
    matrix = np.empty((m, len(prefix) + 2 * (32 + width)), dtype=np.uint8)
    matrix[:, : len(prefix)] = np.frombuffer(prefix, dtype=np.uint8)
    offset = len(prefix)
    for side in (0, 1):
        matrix[:, offset : offset + 32] = hashes[side::2]
        matrix[:, offset + 32 : offset + 32 + width] = encoded[side::2]
        offset += 32 + width
    return _hash_rows(matrix), _add(values[0::2], values[1::2])


def _leaves(audit: bytes, nonces: Any, account_hashes: Any, encoded: Any) -> Any:
    """Leaf hashes of every customer (rows in tree order)."""
    n = nonces.shape[0]
    prefix = LEAF_TAG + audit
    matrix = np.empty((n, len(prefix) + 64 + encoded.shape[1]), dtype=np.uint8)
    matrix[:, : len(prefix)] = np.frombuffer(prefix, dtype=np.uint8)
    matrix[:, len(prefix) : len(prefix) + 32] = nonces
    matrix[:, len(prefix) + 32 : len(prefix) + 64] = account_hashes
    matrix[:, len(prefix) + 64 :] = encoded
    return _hash_rows(matrix)


@dataclass(frozen=True, slots=True)
class BuildResult:
    """What ``build`` wrote and found."""

    out: Path
    root: dict[str, Any]
    customers: int
    hashes: int


def _write_level(folder: Path, level: int, hashes: Any, encoded: Any) -> None:
    count, width = encoded.shape
    value_bytes = np.ascontiguousarray(encoded).tobytes()
    table = pa.table(
        {
            "hash": pa.FixedSizeBinaryArray.from_buffers(
                pa.binary(32), count, [None, pa.py_buffer(hashes.tobytes())]
            ),
            "values": pa.FixedSizeBinaryArray.from_buffers(
                pa.binary(width), count, [None, pa.py_buffer(value_bytes)]
            ),
        }
    )
    pq.write_table(
        table,
        folder / f"level-{level:02d}.parquet",
        row_group_size=ROW_GROUP,
        compression="lz4",
        write_statistics=False,
        use_dictionary=False,
    )


def _leaf_values(engine: Engine, codes: list[str], scales: list[int]) -> tuple[list[str], Any]:
    """Sorted account ids and their per-asset units as (n, A, 2) uint64 limbs (one table read)."""
    table = engine.table("balances").to_pyarrow()
    accounts = table["account_id"].combine_chunks()
    unique = pc.unique(accounts)
    ids = unique.take(pc.array_sort_indices(unique))
    ordinal = pc.index_in(accounts, value_set=ids).to_numpy()
    limbs = np.zeros((len(ids), len(codes), 2), dtype=np.uint64)
    amounts = table["amount"].combine_chunks()
    rows_of = rows_by_asset(table["asset"].combine_chunks())
    for a, (code, scale) in enumerate(zip(codes, scales, strict=True)):
        index = rows_of.get(code)
        if index is None or len(index) == 0:
            continue
        # exact rescale to the asset's scale (Arrow refuses to drop non-zero digits)
        at_scale = amounts.take(pa.array(index)).cast(pa.decimal128(38, scale))
        limbs[ordinal[index], a] = decimal_limbs(at_scale)
    return ids.to_pylist(), limbs


def build(
    snapshot: Snapshot, out: Path, audit_id: str | None = None, seed: int | None = None, force: bool = False
) -> BuildResult:
    """Build the tree and every customer's proof store into ``out`` (atomically).

    ``seed`` makes nonces, positions and padding reproducible — for tests only; a real
    audit uses the operating system's randomness (the default), so nonces are fresh.
    """
    if out.exists() and any(out.iterdir()) and not force:
        msg = f"{out} exists and is not empty (use --force to replace it)"
        raise ValueError(msg)
    engine = Engine(snapshot)
    codes = list(snapshot.assets)  # every asset customers are owed, fiat included
    scales = [snapshot.assets[c].scale for c in codes]
    ids, values = _leaf_values(engine, codes, scales)
    n = len(ids)
    height = height_for(max(n, 1))
    random = np.random.default_rng(seed) if seed is not None else None
    entropy = random.bytes(32 * n + 32) if random is not None else secrets.token_bytes(32 * n + 32)
    padding_key, nonces = entropy[:32], np.frombuffer(entropy[32:], dtype=np.uint8).reshape(n, 32)
    order = (random or np.random.default_rng(int.from_bytes(secrets.token_bytes(16), "big"))).permutation(n)
    audit_id = audit_id or f"{snapshot.exchange.id}/{snapshot.exchange.as_of.isoformat()}/{entropy[:4].hex()}"
    asset_list = [{"code": c, "scale": sc} for c, sc in zip(codes, scales, strict=True)]
    audit = audit_tag(audit_id, snapshot.exchange.id, snapshot.exchange.as_of.isoformat(), asset_list)
    # position p holds account order[p]
    ids_at = [ids[k] for k in order]
    values = values[order]
    nonces = nonces[order]
    encoded = _be_bytes(values)
    leaves = _leaves(audit, nonces, _account_hashes(ids_at), encoded)
    empties = empty_hashes(audit, padding_key, height, len(codes))
    out.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        hashed = 2 * n
        hashes, level_values = leaves, values
        for level in range(height):
            _write_level(work, level, hashes, encoded)
            if hashes.shape[0] % 2:  # pad with the empty subtree of this level
                hashes = np.vstack([hashes, np.frombuffer(empties[level], dtype=np.uint8)[None, :]])
                level_values = np.concatenate([level_values, np.zeros((1, len(codes), 2), np.uint64)])
                encoded = np.vstack([encoded, np.zeros((1, encoded.shape[1]), np.uint8)])
            hashes, level_values = _parents(audit, level + 1, hashes, encoded, level_values)
            encoded = _be_bytes(level_values)
            hashed += hashes.shape[0]
        root_values = [int(lo) + (int(hi) << 64) for lo, hi in level_values[0]]
        pq.write_table(
            pa.table(
                {
                    "account_id": pa.array(ids_at),
                    "leaf": pa.array(np.arange(n, dtype=np.int64)),
                    "nonce": pa.FixedSizeBinaryArray.from_buffers(
                        pa.binary(32), n, [None, pa.py_buffer(np.ascontiguousarray(nonces).tobytes())]
                    ),
                }
            ).sort_by("account_id"),
            work / "accounts.parquet",
            row_group_size=ROW_GROUP,
            compression="lz4",
        )
        (work / "empty.json").write_text(json.dumps([h.hex() for h in empties]))
        root = _root_document(
            snapshot, engine, audit_id, height, codes, scales, hashes[0].tobytes(), root_values
        )
        (work / "root.json").write_text(json.dumps(root, indent=2, ensure_ascii=False) + "\n")
        if out.exists():
            shutil.rmtree(out)
        os.replace(work, out)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return BuildResult(out, root, n, hashed)


def _root_document(
    snapshot: Snapshot,
    engine: Engine,
    audit_id: str,
    height: int,
    codes: list[str],
    scales: list[int],
    root_hash: bytes,
    totals: list[int],
) -> dict[str, Any]:
    """root.json: the root, per-asset totals, and a per-asset solvency statement."""
    exposure = {a.asset: a for a in engine.exposure().assets}
    solvency = []
    for code, scale, units in zip(codes, scales, totals, strict=True):
        liabilities = Decimal(units).scaleb(-scale)
        held = exposure[code].customer_held
        solvency.append(
            {
                "asset": code,
                "liabilities": canonical(liabilities),
                "customer_holdings": canonical(held),
                "solvent": held >= liabilities,
            }
        )
    return {
        "format": FORMAT,
        "audit_id": audit_id,
        "exchange": snapshot.exchange.id,
        "as_of": snapshot.exchange.as_of.isoformat(),
        "height": height,
        "assets": [{"code": c, "scale": s} for c, s in zip(codes, scales, strict=True)],
        "root": {"hash": root_hash.hex(), "totals": {c: str(t) for c, t in zip(codes, totals, strict=True)}},
        "solvency": solvency,
        "solvent_every_asset": all(row["solvent"] for row in solvency),
        "note": "totals are integers at each asset's scale; solvency is per asset, never netted",
    }


# ---------------------------------------------------------------------------------------
# proofs


def _row(path: Path, index: int) -> tuple[bytes, bytes] | None:
    file = pq.ParquetFile(path)
    if index >= file.metadata.num_rows:
        return None
    group = file.read_row_group(index // ROW_GROUP).slice(index % ROW_GROUP, 1)
    return group["hash"][0].as_py(), group["values"][0].as_py()


def _decode_values(blob: bytes, codes: list[str]) -> dict[str, str]:
    return {
        c: str(int.from_bytes(blob[i * VALUE_BYTES : (i + 1) * VALUE_BYTES], "big"))
        for i, c in enumerate(codes)
    }


def proof(out: Path, account_id: str) -> dict[str, Any]:
    """One customer's inclusion proof, ready to hand over.

    Raises:
        KeyError: the account is not in the tree.
    """
    root = json.loads((out / "root.json").read_text())
    codes = [a["code"] for a in root["assets"]]
    accounts = pq.read_table(out / "accounts.parquet", filters=[("account_id", "=", account_id)])
    if accounts.num_rows != 1:
        raise KeyError(account_id)
    leaf, nonce = accounts["leaf"][0].as_py(), accounts["nonce"][0].as_py().hex()
    empties = json.loads((out / "empty.json").read_text())
    own = _row(out / "level-00.parquet", leaf)
    assert own is not None  # the account is in the tree
    path = []
    for level in range(root["height"]):
        sibling = (leaf >> level) ^ 1
        row = _row(out / f"level-{level:02d}.parquet", sibling)
        if row is None:
            path.append({"level": level, "hash": empties[level], "values": dict.fromkeys(codes, "0")})
        else:
            path.append({"level": level, "hash": row[0].hex(), "values": _decode_values(row[1], codes)})
    return {
        "format": FORMAT,
        "audit_id": root["audit_id"],
        "exchange": root["exchange"],
        "as_of": root["as_of"],
        "account_id": account_id,
        "nonce": nonce,
        "leaf_index": leaf,
        "height": root["height"],
        "assets": root["assets"],
        "balances": _decode_values(own[1], codes),
        "path": path,
        "root": root["root"],
    }


# ---------------------------------------------------------------------------------------
# verification


@dataclass(frozen=True, slots=True)
class Verdict:
    """The outcome of verifying a proof: valid or not, and why, and what was checked."""

    valid: bool
    reasons: tuple[str, ...]
    checked: tuple[str, ...]
    not_checked: tuple[str, ...] = ()
    weaknesses: tuple[str, ...] = ()


def _units(value: Any, where: str) -> int:
    if not isinstance(value, str) or not _UNITS.match(value):
        msg = f"{where}: {value!r} is not a non-negative integer in canonical form"
        raise ValueError(msg)
    number = int(value)
    if number > MAX_VALUE:
        msg = f"{where}: {value} exceeds 2^128 - 1"
        raise ValueError(msg)
    return number


def _hex32(value: Any, where: str) -> bytes:
    if not isinstance(value, str) or not _HEX32.match(value):
        msg = f"{where}: not a 64-character lowercase hex hash"
        raise ValueError(msg)
    return bytes.fromhex(value)


def _values(mapping: Any, codes: list[str], where: str) -> list[int]:
    if not isinstance(mapping, dict) or list(mapping) != codes:
        msg = f"{where}: values must list exactly the assets {codes} in that order"
        raise ValueError(msg)
    return [_units(mapping[c], f"{where}.{c}") for c in codes]


def verify(document: dict[str, Any], root_document: dict[str, Any] | None = None) -> Verdict:
    """Recompute a ``caspr-por/1`` proof from the customer's leaf up to the root."""
    checked = [
        "leaf from account id, nonce and balances",
        "every node's hash and per-asset sums",
        "non-negative, canonical, < 2^128 values and no sum overflow",
        "path length = height",
        "sibling sides from leaf_index bits",
        "root hash and per-asset totals",
    ]
    try:
        _check(document, root_document)
    except (ValueError, KeyError, TypeError, OverflowError) as exc:
        return Verdict(False, (str(exc),), tuple(checked))
    not_checked = () if root_document else ("that the root is the one the exchange published (give --root)",)
    if root_document:
        checked.append("proof's root equals the published root.json")
    return Verdict(True, (), tuple(checked), not_checked)


def _check_shape(doc: dict[str, Any]) -> tuple[list[str], int, int]:
    if doc.get("format") != FORMAT:
        msg = f"format is {doc.get('format')!r}, expected {FORMAT!r}"
        raise ValueError(msg)
    codes = [a["code"] for a in doc["assets"]]
    height, index = doc["height"], doc["leaf_index"]
    if not isinstance(height, int) or height not in LADDER:
        msg = f"height {height!r} is not one of {LADDER}"
        raise ValueError(msg)
    if not isinstance(index, int) or not 0 <= index < 2**height:
        msg = f"leaf_index {index!r} outside the tree"
        raise ValueError(msg)
    if len(doc["path"]) != height:
        msg = f"path has {len(doc['path'])} steps, the tree has height {height}"
        raise ValueError(msg)
    return codes, height, index


def _check_published(doc: dict[str, Any], published: dict[str, Any]) -> None:
    for key in ("audit_id", "exchange", "as_of", "height", "assets"):
        if published.get(key) != doc.get(key):
            msg = f"{key} differs from the published root.json"
            raise ValueError(msg)
    if published["root"] != doc["root"]:
        msg = "root differs from the published root.json"
        raise ValueError(msg)


def _check(doc: dict[str, Any], published: dict[str, Any] | None) -> None:
    codes, _height, index = _check_shape(doc)
    audit = audit_tag(str(doc["audit_id"]), str(doc["exchange"]), str(doc["as_of"]), doc["assets"])
    nonce = _hex32(doc["nonce"], "nonce")
    values = _values(doc["balances"], codes, "balances")
    current = leaf_hash(audit, nonce, str(doc["account_id"]), values)
    for level, step in enumerate(doc["path"]):
        if step.get("level") != level:
            msg = f"path step {level} says level {step.get('level')!r}"
            raise ValueError(msg)
        sibling = _hex32(step["hash"], f"path[{level}].hash")
        sibling_values = _values(step["values"], codes, f"path[{level}].values")
        if (index >> level) & 1:
            current = node_hash(audit, level + 1, sibling, sibling_values, current, values)
        else:
            current = node_hash(audit, level + 1, current, values, sibling, sibling_values)
        values = [a + b for a, b in zip(values, sibling_values, strict=True)]
        if any(v > MAX_VALUE for v in values):
            msg = f"sum at level {level + 1} exceeds 2^128 - 1"
            raise OverflowError(msg)
    root = doc["root"]
    if current.hex() != root["hash"]:
        msg = "recomputed root hash differs from the proof's root"
        raise ValueError(msg)
    if _values(root["totals"], codes, "root.totals") != values:
        msg = "recomputed per-asset totals differ from the proof's root totals"
        raise ValueError(msg)
    if published is not None:
        _check_published(doc, published)
