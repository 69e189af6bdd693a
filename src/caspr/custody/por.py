"""Proof of liabilities, caspr's own format ``caspr-por/1``: a Merkle sum tree per asset.

Designed against the known flaws of published formats (docs/sources.md, "Proof of liabilities"):

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

import bisect
import hashlib
import json
import re
import shutil
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from decimal import Context, Decimal
from pathlib import Path
from typing import Any

import ibis
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from caspr.atomic import swap_in
from caspr.custody import kernels
from caspr.engine import Engine
from caspr.invariants import check_por_totals
from caspr.money import canonical
from caspr.snapshot.loader import Snapshot
from caspr.units import decimal_limbs

_WIDE = Context(prec=80)
"""Wide enough for any 128-bit value at any scale: shown exactly, never rounded."""

FORMAT = "caspr-por/1"
_NAME = FORMAT.encode()
LEAF_TAG = b"\x00" + _NAME
NODE_TAG = b"\x01" + _NAME
EMPTY_TAG = b"\x02" + _NAME
LADDER = (16, 20, 24, 28, 32)
VALUE_BYTES = kernels.VALUE_BYTES
MAX_VALUE = 2**128 - 1
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
# building. The hot loops run in caspr.custody.kernels: C (OpenSSL SHA-256, every core)
# when compiled at install, else NumPy + hashlib; both give the same bytes.

STORED_FROM = 4
"""Levels 1..STORED_FROM-1 are neither stored nor even kept in memory: the builder hashes
each block of 2^STORED_FROM leaves up to its level-STORED_FROM node in one go, and a proof
recomputes the block the same way (15 hashes), which keeps the stored nodes near n/8."""


@dataclass(frozen=True, slots=True)
class BuildResult:
    """What ``build`` wrote and found."""

    out: Path
    root: dict[str, Any]
    customers: int
    hashes: int
    kernels: str


@dataclass(frozen=True, slots=True)
class Ledger:
    """What a tree is built from: every customer's balances encoded for the kernels, and the holdings.

    Read from a snapshot by :func:`read`; kept apart from :func:`build_tree` so that loading
    and building can be measured (and tested) apart. Balances are grouped by account, in
    the order of ``ids``: account ``i``'s entries are ``offsets[i]:offsets[i + 1]``.
    """

    exchange: str
    as_of: str
    codes: list[str]  # every asset customers are owed, fiat included, in snapshot order
    scales: list[int]
    holdings: dict[str, Decimal]  # customer-owned wallet holdings per asset
    ids: Any  # pa.StringArray of distinct account ids, ascending (bytewise)
    offsets: Any  # int64 (accounts + 1): each account's entries
    assets: Any  # uint16 per entry: index into codes
    units: Any  # (entries, 2) big-endian uint64: the amount at the asset's scale


def _accounts(accounts: Any) -> tuple[Any, Any, Any]:
    """Distinct account ids (ascending), each one's run of rows, and the rows' grouping.

    Returns ``(ids, offsets, grouped)``: after taking rows ``grouped`` (None: as they are),
    account ``i``'s rows are ``offsets[i]:offsets[i + 1]``. Balances usually come grouped
    and sorted by account: then one pass of comparisons does it; otherwise a stable sort.
    """
    grouped = None
    if len(accounts) > 1:
        heads, starts = _run_heads(accounts)
        if len(heads) >= 2 and not pc.all(pc.less(heads[:-1], heads[1:])).as_py():
            sort = pc.sort_indices(accounts)  # stable
            grouped = sort.to_numpy()
            heads, starts = _run_heads(accounts.take(sort))
    else:
        heads, starts = accounts, np.zeros(len(accounts), dtype=np.int64)
    offsets = np.empty(len(starts) + 1, dtype=np.int64)
    offsets[:-1], offsets[-1] = starts, len(accounts)
    return heads, offsets, grouped


def _run_heads(accounts: Any) -> tuple[Any, Any]:
    """The first id of each run of equal ids, and where each run starts."""
    starts = np.empty(len(accounts), dtype=bool)
    starts[0] = True
    starts[1:] = pc.not_equal(accounts[1:], accounts[:-1]).to_numpy(zero_copy_only=False)
    return accounts.filter(pa.array(starts)), np.flatnonzero(starts)


def read(snapshot: Snapshot, pure: bool = False) -> Ledger:
    """Read the balances (one query) and the customer holdings, encoded for :func:`build_tree`.

    Amounts are brought to each asset's scale here, so errors name the snapshot's row.
    """
    engine = Engine(snapshot)
    codes = list(snapshot.assets)
    scales = [snapshot.assets[c].scale for c in codes]
    balances = engine.table("balances")
    table = balances.select(
        account_id=balances.account_id,
        asset=ibis.literal(codes).index(balances.asset).cast("int32"),
        amount=balances.amount,
    ).to_pyarrow()
    if table.num_rows == 0:
        msg = "balances: no customer balances, nothing to prove"
        raise ValueError(msg)
    amounts = table["amount"].combine_chunks()
    asset = table["asset"].combine_chunks().to_numpy()
    exponent = np.array([amounts.type.scale - s for s in scales], dtype=np.int32)
    units = kernels.kernels(pure).scale(asset, exponent, decimal_limbs(amounts), kernels.threads())
    units = np.frombuffer(units, dtype=">u8").reshape(-1, 2)
    ids, offsets, grouped = _accounts(table["account_id"].combine_chunks())
    if grouped is not None:
        asset, units = asset[grouped], units[grouped]
    return Ledger(
        exchange=snapshot.exchange.id,
        as_of=snapshot.exchange.as_of.isoformat(),
        codes=codes,
        scales=scales,
        holdings=engine.customer_holdings(),
        ids=ids,
        offsets=offsets,
        assets=asset.astype(np.uint16),
        units=np.ascontiguousarray(units),
    )


def liabilities(ledger: Ledger) -> list[int]:
    """Σ of every customer's balance per asset, in minor units, straight from the ledger.

    Computed apart from the tree, so that the root's totals can be checked against it: the
    kernels that gather, hash and sum the leaves must not lose or create a unit
    (:func:`caspr.invariants.check_por_totals`). Exact and fast: each 16-byte value is cut
    into 16-bit limbs, and a per-asset ``bincount`` of limbs below 2^16 stays below 2^53
    (exact in its float64 sums) for up to 2^37 entries.
    """
    count = len(ledger.codes)
    words = np.ascontiguousarray(ledger.units, dtype=">u8").reshape(-1, 2)  # [hi, lo] per entry
    limbs = words.view(">u2").reshape(-1, 8)  # 16-bit limbs, most significant first
    which = np.asarray(ledger.assets, dtype=np.intp)
    totals = [0] * count
    first = 0 if words[:, 0].any() else 4  # no value reaches 2^64: skip the high word's limbs
    for column in range(first, 8):
        weights = limbs[:, column].astype(np.float64)  # float-ok: limbs < 2^16, sums exact
        sums = np.bincount(which, weights=weights, minlength=count)
        shift = 16 * (7 - column)
        for a in range(count):
            totals[a] += int(sums[a]) << shift
    return totals


def _string_buffers(strings: Any) -> tuple[Any, Any]:
    """int64 offsets and the data buffer of an Arrow string array."""
    strings = strings.cast(pa.large_string())
    offsets = np.frombuffer(strings.buffers()[1], dtype=np.int64, count=strings.offset + len(strings) + 1)
    return np.ascontiguousarray(offsets[strings.offset :]), strings.buffers()[2] or b""


def _save(path: Path, array: Any) -> None:
    with path.open("wb") as handle:
        np.save(handle, array, allow_pickle=False)


def _write_leaves(folder: Path, leaves: bytes, nonces: Any, sparse: tuple[Any, Any, Any]) -> None:
    """Leaf hashes and nonces, and the leaves' values sparsely (per-leaf offsets)."""
    offsets, assets, units = sparse
    _save(folder / "leaves.npy", np.frombuffer(leaves, dtype=np.uint8).reshape(-1, 32))
    _save(folder / "leaf-nonce.npy", nonces)
    _save(folder / "leaf-offsets.npy", np.frombuffer(offsets, dtype=np.int64))
    _save(folder / "leaf-assets.npy", np.frombuffer(assets, dtype=np.uint16))
    _save(folder / "leaf-values.npy", np.frombuffer(units, dtype=np.uint8).reshape(-1, VALUE_BYTES))


def _write_level(folder: Path, level: int, hashes: bytes, values: bytes, width: int) -> None:
    _save(folder / f"level-{level:02d}-hash.npy", np.frombuffer(hashes, dtype=np.uint8).reshape(-1, 32))
    _save(folder / f"level-{level:02d}-values.npy", np.frombuffer(values, dtype=np.uint8).reshape(-1, width))


def _write_accounts(folder: Path, id_offsets: Any, id_data: Any, position: Any) -> None:
    """Each account's id (ascending, for a binary search) and leaf: raw arrays, no encoding."""
    _save(folder / "accounts-offsets.npy", id_offsets)
    _save(folder / "accounts-ids.npy", np.frombuffer(id_data, dtype=np.uint8))
    _save(folder / "accounts-leaf.npy", position)


def build(
    snapshot: Snapshot,
    out: Path,
    audit_id: str | None = None,
    seed: int | None = None,
    force: bool = False,
    pure: bool = False,
) -> BuildResult:
    """Build the tree and every customer's proof store into ``out`` (atomically).

    ``seed`` makes nonces, positions and padding reproducible — for tests only; a real
    audit uses the operating system's randomness (the default), so nonces are fresh.
    ``pure`` forces the pure-Python kernels (the same bytes, slower).
    """
    check_out(out, force)
    return build_tree(read(snapshot, pure), out, audit_id, seed, pure)


def check_out(out: Path, force: bool) -> None:
    """Refuse to replace a non-empty ``out`` unless ``force``: checked before any work.

    Raises:
        ValueError: ``out`` exists, is not empty, and ``force`` is not given.
    """
    if out.exists() and (not out.is_dir() or any(out.iterdir())) and not force:
        msg = f"{out} exists and is not empty (use --force to replace it)"
        raise ValueError(msg)


@dataclass(frozen=True, slots=True)
class _Draw:
    """The audit's randomness: the padding key, a nonce per leaf, and the leaf order."""

    padding_key: bytes
    nonces: Any  # (n, 32) uint8, by leaf
    order: Any  # leaf p holds account order[p]
    position: Any  # account a sits at leaf position[a]


def _draw(n: int, seed: int | None, kernel: Any, cores: int) -> _Draw:
    """Fresh randomness from a CSPRNG (the kernels'); ``seed`` (tests only) makes it reproducible.

    The leaf order is secret: a customer's proof shows its neighbours' balances, and only a
    permutation nobody can predict keeps those neighbours anonymous.
    """
    if seed is not None:
        random = np.random.default_rng(seed)
        entropy = random.bytes(32 * n + 32)
        order = random.permutation(n).astype(np.int64)
    else:
        entropy = kernel.random(32 * n + 32, cores)
        order = np.frombuffer(kernel.shuffle(n), dtype=np.int64)
    position = np.empty(n, dtype=np.int64)
    position[order] = np.arange(n, dtype=np.int64)
    nonces = np.frombuffer(entropy, dtype=np.uint8, offset=32).reshape(n, 32)
    return _Draw(entropy[:32], nonces, order, position)


def build_tree(
    ledger: Ledger, out: Path, audit_id: str | None = None, seed: int | None = None, pure: bool = False
) -> BuildResult:
    """The tree, root.json and the proof store of ``ledger`` into ``out`` (replaced atomically).

    Files are written by a second thread while the kernels hash the next level.
    """
    kernel, cores = kernels.kernels(pure), kernels.threads()
    width, n = VALUE_BYTES * len(ledger.codes), len(ledger.ids)
    height = height_for(n)
    draw = _draw(n, seed, kernel, cores)
    suffix = sha256(b"audit id" + draw.padding_key)[:4].hex()  # derived: reveals nothing of the key
    audit_id = audit_id or f"{ledger.exchange}/{ledger.as_of}/{suffix}"
    asset_list = [{"code": c, "scale": s} for c, s in zip(ledger.codes, ledger.scales, strict=True)]
    audit = audit_tag(audit_id, ledger.exchange, ledger.as_of, asset_list)
    empties = empty_hashes(audit, draw.padding_key, height, len(ledger.codes))
    out.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="caspr-por-writer") as writer:
            id_offsets, id_data = _string_buffers(ledger.ids)
            written = [writer.submit(_write_accounts, work, id_offsets, id_data, draw.position)]
            id_hashes = kernel.take(draw.order, kernel.ids(id_offsets, id_data, cores), 32, cores)
            sparse = kernel.gather(draw.order, ledger.offsets, ledger.assets, ledger.units, cores)
            leaves = kernel.leaves(LEAF_TAG + audit, draw.nonces, id_hashes, *sparse, width, cores)
            written.append(writer.submit(_write_leaves, work, leaves, draw.nonces, sparse))
            low = b"".join(empties[:STORED_FROM])
            hashes, values = kernel.block(NODE_TAG + audit, leaves, *sparse, low, STORED_FROM, width, cores)
            hashed = 2 * n + sum(-(-n // 2**level) for level in range(1, STORED_FROM + 1))
            for level in range(STORED_FROM, height):
                written.append(writer.submit(_write_level, work, level, hashes, values, width))
                prefix = NODE_TAG + audit + bytes([level + 1])
                hashes, values = kernel.level(prefix, hashes, values, empties[level], width, cores)
                hashed += len(hashes) // 32
            for job in written:
                job.result()  # raises what a write raised
        totals = [int.from_bytes(values[i : i + VALUE_BYTES], "big") for i in range(0, width, VALUE_BYTES)]
        check_por_totals(ledger.codes, totals, liabilities(ledger))  # before anything is in place
        (work / "empty.json").write_text(json.dumps([h.hex() for h in empties]))
        root = _root_document(ledger, audit_id, height, hashes, totals)
        (work / "root.json").write_text(json.dumps(root, indent=2, ensure_ascii=False) + "\n")
        swap_in(work, out)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return BuildResult(out, root, n, hashed, kernels.describe(pure))


def _root_document(
    ledger: Ledger, audit_id: str, height: int, root_hash: bytes, totals: list[int]
) -> dict[str, Any]:
    """root.json: the root, per-asset totals, and a per-asset solvency statement."""
    solvency = []
    for code, scale, units in zip(ledger.codes, ledger.scales, totals, strict=True):
        liabilities = Decimal(units).scaleb(-scale)
        held = ledger.holdings[code]
        solvency.append(
            {
                "asset": code,
                "liabilities": canonical(liabilities),
                "customer_holdings": canonical(held),
                "solvent": held >= liabilities,
            }
        )
    codes, scales = ledger.codes, ledger.scales
    return {
        "format": FORMAT,
        "audit_id": audit_id,
        "exchange": ledger.exchange,
        "as_of": ledger.as_of,
        "height": height,
        "assets": [{"code": c, "scale": s} for c, s in zip(codes, scales, strict=True)],
        "root": {"hash": root_hash.hex(), "totals": {c: str(t) for c, t in zip(codes, totals, strict=True)}},
        "solvency": solvency,
        "solvent_every_asset": all(row["solvent"] for row in solvency),
        "note": "totals are integers at each asset's scale; solvency is per asset, never netted",
    }


# ---------------------------------------------------------------------------------------
# proofs


def _ints(blob: bytes) -> list[int]:
    return [int.from_bytes(blob[i : i + VALUE_BYTES], "big") for i in range(0, len(blob), VALUE_BYTES)]


def _load(path: Path) -> Any:
    return np.load(path, mmap_mode="r", allow_pickle=False)


class Store:
    """Read access to a proof store written by :func:`build_tree` (memory-mapped, nothing loaded whole)."""

    def __init__(self, out: Path) -> None:
        self.out = out
        self.id_offsets = _load(out / "accounts-offsets.npy")
        self.id_data = _load(out / "accounts-ids.npy")

    def __len__(self) -> int:
        return len(self.id_offsets) - 1

    def __getitem__(self, account: int) -> bytes:
        """Account ``account``'s id as UTF-8 bytes (the store's sort key)."""
        return bytes(self.id_data[int(self.id_offsets[account]) : int(self.id_offsets[account + 1])])

    def account_id(self, account: int) -> str:
        """The id of account number ``account`` (ids are numbered in ascending byte order)."""
        return self[account].decode()

    def find(self, account_id: str) -> int:
        """The number of the account with this id.

        Raises:
            KeyError: no such account in the tree.
        """
        key = account_id.encode()
        account = bisect.bisect_left(self, key)
        if account == len(self) or self[account] != key:
            raise KeyError(account_id)
        return account

    def leaf(self, account: int) -> int:
        """The leaf position of account number ``account``."""
        return int(_load(self.out / "accounts-leaf.npy")[account])

    def nonce(self, leaf: int) -> bytes:
        """The audit nonce of the customer at ``leaf``."""
        return bytes(_load(self.out / "leaf-nonce.npy")[leaf])

    def account_at(self, leaf: int) -> int:
        """The number of the account at ``leaf`` (a scan of the leaf positions: for occasional use)."""
        return int(np.flatnonzero(_load(self.out / "accounts-leaf.npy") == leaf)[0])

    def leaf_block(self, start: int, stop: int, assets: int) -> list[tuple[bytes, list[int]]]:
        """(hash, values) of leaves ``start:stop``."""
        hashes = _load(self.out / "leaves.npy")
        offsets = _load(self.out / "leaf-offsets.npy")
        first, last = int(offsets[start]), int(offsets[stop])
        which = np.asarray(_load(self.out / "leaf-assets.npy")[first:last])
        units = np.asarray(_load(self.out / "leaf-values.npy")[first:last])
        block = []
        for leaf in range(start, stop):
            values = [0] * assets
            for k in range(int(offsets[leaf]) - first, int(offsets[leaf + 1]) - first):
                values[int(which[k])] = int.from_bytes(units[k].tobytes(), "big")
            block.append((hashes[leaf].tobytes(), values))
        return block


def _low_path(
    audit: bytes, block: list[tuple[bytes, list[int]]], index: int, empties: list[bytes], assets: int
) -> list[tuple[bytes, list[int]]]:
    """Siblings at levels 0..STORED_FROM-1, recomputing the block's nodes as ``build`` did."""
    zeros = [0] * assets
    path = []
    nodes = block
    for level in range(STORED_FROM):
        sibling = index ^ 1
        path.append(nodes[sibling] if sibling < len(nodes) else (empties[level], zeros))
        parents = []
        for left in range(0, len(nodes), 2):
            lh, lv = nodes[left]
            rh, rv = nodes[left + 1] if left + 1 < len(nodes) else (empties[level], zeros)
            parents.append(
                (node_hash(audit, level + 1, lh, lv, rh, rv), [a + b for a, b in zip(lv, rv, strict=True)])
            )
        nodes, index = parents, index >> 1
    return path


def proof(out: Path, account_id: str) -> dict[str, Any]:
    """One customer's inclusion proof, ready to hand over.

    Raises:
        KeyError: the account is not in the tree.
    """
    root = json.loads((out / "root.json").read_text())
    codes = [a["code"] for a in root["assets"]]
    store = Store(out)
    account = store.find(account_id)
    leaf = store.leaf(account)
    nonce = store.nonce(leaf).hex()
    empties = [bytes.fromhex(h) for h in json.loads((out / "empty.json").read_text())]
    audit = audit_tag(root["audit_id"], root["exchange"], root["as_of"], root["assets"])
    start = (leaf >> STORED_FROM) << STORED_FROM
    block = store.leaf_block(start, min(start + (1 << STORED_FROM), len(store)), len(codes))
    own = block[leaf - start]
    steps = _low_path(audit, block, leaf - start, empties, len(codes))
    for level in range(STORED_FROM, root["height"]):
        sibling = (leaf >> level) ^ 1
        hashes = _load(out / f"level-{level:02d}-hash.npy")
        if sibling < hashes.shape[0]:
            values = _load(out / f"level-{level:02d}-values.npy")[sibling].tobytes()
            steps.append((hashes[sibling].tobytes(), _ints(values)))
        else:
            steps.append((empties[level], [0] * len(codes)))
    path = [
        {"level": level, "hash": h.hex(), "values": {c: str(v) for c, v in zip(codes, vs, strict=True)}}
        for level, (h, vs) in enumerate(steps)
    ]
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
        "balances": {c: str(v) for c, v in zip(codes, own[1], strict=True)},
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
    findings: tuple[str, ...] = ()
    """Flaws of the exchange's tree that do not break the proof (e.g. negative subtotals in a
    published format): the balance is included, but the published total may be understated."""
    reconstructed: str = ""
    """The root the verifier rebuilt (hash and totals), to compare by eye with the published one."""


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
    """Recompute a ``caspr-por/1`` proof from the customer's leaf up to the root.

    ``checked`` lists only the checks that ran and held, in order; on failure it stops where
    the proof broke.
    """
    ran: list[str] = []
    rebuilt: list[str] = []
    try:
        _check(document, root_document, ran, rebuilt)
    except (ValueError, KeyError, TypeError, OverflowError) as exc:
        return Verdict(False, (str(exc),), tuple(ran), reconstructed="".join(rebuilt))
    not_checked = () if root_document else ("that the root is the one the exchange published (give --root)",)
    return Verdict(True, (), tuple(ran), not_checked, reconstructed="".join(rebuilt))


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


def _totals_text(assets: list[dict[str, Any]], values: list[int]) -> str:
    """Per-asset totals in whole units (each asset's scale), e.g. ``BTC 1.50000000``."""
    parts = []
    for asset, value in zip(assets, values, strict=True):
        scale = asset.get("scale")
        if isinstance(scale, int) and 0 <= scale <= 38:
            shown = f"{Decimal(value).scaleb(-scale, _WIDE):f}"
        else:
            shown = str(value)
        parts.append(f"{asset['code']} {shown}")
    return ", ".join(parts)


def _check(doc: dict[str, Any], published: dict[str, Any] | None, ran: list[str], rebuilt: list[str]) -> None:
    codes, height, index = _check_shape(doc)
    ran.append("path length = height")
    audit = audit_tag(str(doc["audit_id"]), str(doc["exchange"]), str(doc["as_of"]), doc["assets"])
    nonce = _hex32(doc["nonce"], "nonce")
    values = _values(doc["balances"], codes, "balances")
    current = leaf_hash(audit, nonce, str(doc["account_id"]), values)
    ran.append("leaf from account id, nonce and balances")
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
    rebuilt.append(f"root {current.hex()} at height {height}; totals {_totals_text(doc['assets'], values)}")
    ran.append(f"every node's hash and per-asset sums, {height} levels, sibling sides from leaf_index bits")
    ran.append("non-negative, canonical, < 2^128 values and no sum overflow")
    root = doc["root"]
    if current.hex() != root["hash"]:
        msg = "recomputed root hash differs from the proof's root"
        raise ValueError(msg)
    if _values(root["totals"], codes, "root.totals") != values:
        msg = "recomputed per-asset totals differ from the proof's root totals"
        raise ValueError(msg)
    ran.append("root hash and per-asset totals")
    if published is not None:
        _check_published(doc, published)
        ran.append("proof's root equals the published root.json")
