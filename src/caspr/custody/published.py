"""Verifiers for other exchanges' published proof-of-liabilities formats (read-only).

Each verifier recomputes what the format lets it recompute, says what it could not check,
and flags the weaknesses of the format itself (docs/por.md; sources in docs/sources.md):

* **OKX v1 path proof** — leaf ``sha256_hex(nonce + '{"BTC":"…","ETH":"…","USDT":"…"}')``;
  parent ``sha256_hex(hL + hR + BTC + ETH + USDT + str(height))`` with sums rounded down
  to 8 places and trailing zeros stripped; ``type`` 1 left, 2 right, 3 root, 4 padding.
* **OKX v2 full tree** — one line per node ``hash,height,{json}``, root first, each level
  listed right to left, an odd level padded with a zero-balance copy of its last node;
  user leaves ``sha256(userHash + BTC + ETH + USDT)`` with
  ``userHash = sha256(nonce + json(totalBalances))``. Every internal node is rechecked
  (OKX's own tool only scans the leaves).
* **Bitget path proof** — leaf ``sha256(encryptUid + "," + nonce + "," + balancesJSON)``
  and parent ``sha256(hL + hR + "," + balancesJSON(sums) + "," + level)``, both truncated
  to 64 bits; balances JSON keeps the key order of the file (the order Java's HashMap
  serialised); ``role`` 1 left, 2 right, 0 empty; the root is level 1. Two versions:
  2025 files quote balances as strings and the tool hashes them with trailing zeros
  stripped; 2022 files write unquoted numbers whose scale the tool keeps (Java
  ``BigDecimal.toString()``). The version is detected from the user's own leaf.

All three parents commit only to the *sum* of their children, not to each child's
balances: the max(vL, vR) parent-sum attack (Hu, Zhang & Guo 2018) passes any single
path check. Negative balances and subtotals, which the formats' own tools accept, do not
break a customer's inclusion proof but are reported as a finding (``Verdict.findings``):
they could understate the exchange's total liabilities.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from decimal import ROUND_DOWN, Context, Decimal, Inexact, Rounded, localcontext
from typing import Any

from caspr.custody.por import Verdict

OKX_COINS = ("BTC", "ETH", "USDT")
_DECIMAL = re.compile(r"^-?[0-9]+(\.[0-9]+)?$")
SUM_ONLY = (
    "parents commit only to the sum of their children, so the max(vL, vR) parent-sum attack "
    "passes a path check (Hu, Zhang & Guo 2018)"
)


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _amount(text: Any, where: str) -> Decimal:
    if not isinstance(text, str) or not _DECIMAL.match(text):
        msg = f"{where}: {text!r} is not a decimal string"
        raise ValueError(msg)
    return Decimal(text)


def okx_format(value: Decimal) -> str:
    """OKX's number text: rounded down to 8 places, trailing zeros stripped ("0.1", "0")."""
    text = f"{value.quantize(Decimal('1e-8'), rounding=ROUND_DOWN).normalize():f}"
    return "0" if text == "-0" else text


def strip_zeros(value: Decimal) -> str:
    """Java ``BigDecimal.stripTrailingZeros().toPlainString()``."""
    text = f"{value.normalize():f}"
    return "0" if text in ("-0", "0") else text


class _Checks:
    """What a verifier found while it ran.

    The checks that passed (in order), the negative values (a finding about the exchange's
    tree, not a broken proof), and the root it rebuilt.
    """

    def __init__(self) -> None:
        self.negatives: list[str] = []
        self.ran: list[str] = []
        self.root = ""

    def passed(self, check: str) -> None:
        """Record a check that actually ran and held (only these are printed as "checked")."""
        self.ran.append(check)

    def balances(self, mapping: Any, coins: tuple[str, ...] | None, where: str) -> dict[str, Decimal]:
        if not isinstance(mapping, dict) or (coins is not None and tuple(mapping) != coins):
            msg = f"{where}: balances must be an object with keys {coins}"
            raise ValueError(msg)
        values = {coin: _amount(text, f"{where}.{coin}") for coin, text in mapping.items()}
        self.negative(values, where)
        return values

    def negative(self, values: dict[str, Decimal], where: str) -> None:
        self.negatives.extend(f"{where}.{coin} = {v}" for coin, v in values.items() if v < 0)


NEGATIVE_FINDING = (
    "the exchange's tree contains negative balances or subtotals, which the format's own tool "
    "accepts: a negative entry cancels real liabilities, so the published total liabilities "
    "could be understated"
)


def _verdict(run: Callable[[_Checks], None], not_checked: list[str], weaknesses: list[str]) -> Verdict:
    """Run a verifier.

    Invalid = the proof does not recompute (tampered, or not this root); valid with
    findings = the customer's balance is in the root, but the tree is flawed.
    """
    checks = _Checks()
    try:
        run(checks)
    except (ValueError, KeyError, TypeError, IndexError) as exc:
        return Verdict(
            False,
            (str(exc),),
            tuple(checks.ran),
            tuple(not_checked),
            tuple(weaknesses),
            reconstructed=checks.root,
        )
    findings: tuple[str, ...] = ()
    if checks.negatives:
        shown = "; ".join(checks.negatives[:5]) + ("; …" if len(checks.negatives) > 5 else "")
        findings = (f"{NEGATIVE_FINDING} ({len(checks.negatives)}: {shown})",)
    return Verdict(
        True,
        (),
        tuple(checks.ran),
        tuple(not_checked),
        tuple(weaknesses),
        findings=findings,
        reconstructed=checks.root,
    )


# ---------------------------------------------------------------------------------------- OKX v1


def okx_v1_leaf(nonce: str, balances: dict[str, str]) -> str:
    """OKX v1 leaf hash (Go struct JSON: BTC, ETH, USDT, no spaces)."""
    body = json.dumps({c: balances[c] for c in OKX_COINS}, separators=(",", ":"))
    return _sha(nonce + body)


def okx_parent(left: str, right: str, sums: dict[str, Decimal], height: int) -> str:
    """OKX v1/v2 parent hash."""
    return _sha(left + right + "".join(okx_format(sums[c]) for c in OKX_COINS) + str(height))


def verify_okx_v1(document: dict[str, Any], expected_root: str | None = None) -> Verdict:
    """Recompute an OKX v1 path proof from the user's node to the root."""

    def run(checks: _Checks) -> None:
        own = document["self"]
        balances = checks.balances(own["balances"], OKX_COINS, "self")
        if okx_v1_leaf(own["nonce"], own["balances"]) != own["hash"]:
            msg = "self: leaf hash does not match nonce and balances"
            raise ValueError(msg)
        checks.passed("user leaf from nonce and balances")
        current, height = own["hash"], own["height"]
        path = document["path"]
        if not path or path[-1].get("type") != 3:
            msg = "the last path element must be the root (type 3)"
            raise ValueError(msg)
        if own.get("type") == path[0].get("type"):
            msg = "self and its first sibling claim the same side"
            raise ValueError(msg)
        for i, step in enumerate(path[:-1]):
            if step.get("height") != height:
                msg = f"path[{i}]: height {step.get('height')} where {height} was expected"
                raise ValueError(msg)
            sibling = checks.balances(step["balances"], OKX_COINS, f"path[{i}]")
            sums = {c: balances[c] + sibling[c] for c in OKX_COINS}
            if step["type"] == 1:
                current = okx_parent(step["hash"], current, sums, height + 1)
            elif step["type"] in (2, 4):
                current = okx_parent(current, step["hash"], sums, height + 1)
            else:
                msg = f"path[{i}]: type {step['type']} is not 1, 2 or 4"
                raise ValueError(msg)
            balances, height = sums, height + 1
        totals = _coins_text(balances, OKX_COINS, okx_format)
        checks.root = f"root {current} at height {height}; totals {totals}"
        checks.passed(f"every parent hash and sum on the path ({len(path) - 1} steps), heights and sides")
        root = path[-1]
        root_balances = checks.balances(root["balances"], OKX_COINS, "root")
        if root["height"] != height or root["hash"] != current:
            msg = f"recomputed root {current} at height {height} differs from the proof's root"
            raise ValueError(msg)
        if any(okx_format(balances[c]) != okx_format(root_balances[c]) for c in OKX_COINS):
            msg = "recomputed root balances differ from the proof's root balances"
            raise ValueError(msg)
        checks.passed("root hash, height and balances")
        if expected_root is not None:
            if root["hash"] != expected_root:
                msg = "root differs from the published root"
                raise ValueError(msg)
            checks.passed("root equals the published root")

    return _verdict(
        run,
        ["that the root is the one OKX published (give --root)"] if expected_root is None else [],
        [
            SUM_ONLY,
            "siblings' balances are not range-checked by the format (negatives pass OKX's tool)",
            "only BTC, ETH and USDT are committed",
        ],
    )


def _coins_text(balances: dict[str, Decimal], coins: Any, show: Callable[[Decimal], str]) -> str:
    return ", ".join(f"{coin} {show(balances[coin])}" for coin in coins)


# ---------------------------------------------------------------------------------------- OKX v2


def _parse_tree(text: str, checks: _Checks) -> dict[int, list[tuple[str, dict[str, Decimal]]]]:
    levels: dict[int, list[tuple[str, dict[str, Decimal]]]] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        node_hash, height, body = line.split(",", 2)
        balances = checks.balances(json.loads(body), OKX_COINS, f"line {number}")
        levels.setdefault(int(height), []).append((node_hash, balances))
    # each level is listed right to left
    return {height: nodes[::-1] for height, nodes in levels.items()}


def _check_level(levels: dict[int, list[tuple[str, dict[str, Decimal]]]], height: int) -> int:
    """Recheck every parent at ``height``; returns how many nodes were rechecked."""
    children, parents = levels[height - 1], levels[height]
    rechecked = 0
    for i, (node_hash, balances) in enumerate(parents):
        if 2 * i + 1 >= len(children):
            real = len(children) // 2
            pad = i == real == len(parents) - 1 and real % 2 == 1
            previous_hash = parents[i - 1][0] if i > 0 else None
            if pad and node_hash == previous_hash and not any(balances.values()):
                continue  # the zero-balance copy that pads an odd level
            msg = f"height {height}, node {i}: has no children"
            raise ValueError(msg)
        (left, lb), (right, rb) = children[2 * i], children[2 * i + 1]
        sums = {c: lb[c] + rb[c] for c in OKX_COINS}
        if okx_parent(left, right, sums, height) != node_hash or sums != balances:
            msg = f"height {height}, node {i}: hash or balances do not recompute from its children"
            raise ValueError(msg)
        rechecked += 1
    if 2 * len(parents) < len(children):
        msg = f"height {height - 1}: nodes without a parent"
        raise ValueError(msg)
    return rechecked


def verify_okx_v2(tree_text: str, user_info: dict[str, Any], expected_root: str | None = None) -> Verdict:
    """Recheck every internal node of an OKX v2 full tree and find the user's leaves in it."""

    def run(checks: _Checks) -> None:
        levels = _parse_tree(tree_text, checks)
        top = max(levels)
        if len(levels[top]) != 1 or sorted(levels) != list(range(1, top + 1)):
            msg = "the tree must have one root and every level from 1 to the root"
            raise ValueError(msg)
        rechecked = sum(_check_level(levels, h) for h in range(2, top + 1))
        root_hash, root_totals = levels[top][0]
        totals_text = _coins_text(root_totals, OKX_COINS, okx_format)
        checks.root = f"root {root_hash} at height {top}; totals {totals_text}"
        checks.passed(
            f"every internal node's hash and per-coin sums, {rechecked} nodes (OKX's own tool checks none), "
            "and the padding copies"
        )
        totals = checks.balances(user_info["totalBalances"], OKX_COINS, "user.totalBalances")
        body = json.dumps({c: user_info["totalBalances"][c] for c in OKX_COINS}, separators=(",", ":"))
        user_hash = _sha(user_info["nonce"] + body)
        if user_hash != user_info["hash"]:
            msg = "user hash does not match nonce and totalBalances"
            raise ValueError(msg)
        checks.passed("user hash from nonce and totals")
        leaves = {h for h, _ in levels[1]}
        leaf_sum = dict.fromkeys(OKX_COINS, Decimal(0))
        for i, node in enumerate(user_info["nodes"]):
            part = checks.balances(node["balances"], OKX_COINS, f"user.nodes[{i}]")
            if _sha(user_hash + "".join(node["balances"][c] for c in OKX_COINS)) != node["hash"]:
                msg = f"user.nodes[{i}]: leaf hash does not match the user hash and balances"
                raise ValueError(msg)
            if node["hash"] not in leaves:
                msg = f"user.nodes[{i}]: leaf {node['hash']} is not in the tree"
                raise ValueError(msg)
            leaf_sum = {c: leaf_sum[c] + part[c] for c in OKX_COINS}
        if leaf_sum != totals:
            msg = "the user's leaves do not add up to the user's totalBalances"
            raise ValueError(msg)
        count = len(user_info["nodes"])
        checks.passed(f"each of the user's {count} leaves is in the tree and they add up to the totals")
        if expected_root is not None:
            if root_hash != expected_root:
                msg = "root differs from the published root"
                raise ValueError(msg)
            checks.passed("root equals the published root")

    return _verdict(
        run,
        [] if expected_root is not None else ["that the root is the one OKX published (give --root)"],
        [
            SUM_ONLY + "; a full-tree recheck catches it, a path check would not",
            "a user's balance may be split over several leaves; the tree does not bind leaves to one user",
        ],
    )


# ---------------------------------------------------------------------------------------- Bitget


BITGET_STRINGS = "strings"
"""Bitget's format since its 2025 tool (v1.0.4 era): balances as quoted decimal strings,
trailing zeros stripped, and hashed the same way (``stripTrailingZeros().toPlainString()``)."""
BITGET_NUMBERS = "numbers"
"""Bitget's 2022 format (audit Au20221125, tool v1.0.2): balances as unquoted JSON numbers
whose scale is kept, hashed as Java's ``BigDecimal.toString()`` re-serialises them."""


BITGET_VERSIONS = {
    BITGET_STRINGS: "2025 format: quoted strings",
    BITGET_NUMBERS: "2022 format: JSON numbers with their scale",
}


def bitget_text(value: Decimal, version: str) -> str:
    """One balance as Bitget's tool writes it into the hashed JSON, for either format version.

    Python's ``str(Decimal)`` and Java's ``BigDecimal.toString()`` follow the same
    to-scientific-string rule (plain unless the exponent is positive or the adjusted
    exponent is below -6), so ``0.10000000`` stays ``0.10000000`` and ``0.00000001`` is
    ``1E-8``, as the 2022 tool hashed it.
    """
    if version == BITGET_NUMBERS:
        return str(value)
    return f'"{strip_zeros(value)}"'


def bitget_json(balances: dict[str, Decimal], keys: list[str], version: str = BITGET_STRINGS) -> str:
    """Bitget's balances JSON: the file's key order, each value as its tool re-serialises it."""
    return "{" + ",".join(f'"{k}":{bitget_text(balances[k], version)}' for k in keys) + "}"


def bitget_leaf(uid: str, nonce: str, balances: dict[str, Decimal], version: str = BITGET_STRINGS) -> str:
    """Bitget leaf (64 bits) over the balances as its tool re-reads and re-writes them.

    Not the published text: a published ``"1.50"`` is hashed as ``"1.5"``.
    """
    return _sha(f"{uid},{nonce},{bitget_json(balances, list(balances), version)}")[:16]


def bitget_parent(
    left: str,
    right: str,
    sums: dict[str, Decimal],
    keys: list[str],
    level: int,
    version: str = BITGET_STRINGS,
) -> str:
    """Bitget parent (64 bits) at ``level`` (the root is level 1)."""
    return _sha(f"{left}{right},{bitget_json(sums, keys, version)},{level}")[:16]


def bitget_version(document: dict[str, Any]) -> str:
    """Which Bitget format a proof is in, from its own leaf: all strings or all numbers."""
    values = list(document["self"]["balances"].values())
    if values and all(isinstance(v, str) for v in values):
        return BITGET_STRINGS
    if values and all(isinstance(v, Decimal | int) and not isinstance(v, bool) for v in values):
        return BITGET_NUMBERS
    msg = "self.balances: neither all decimal strings (2025 format) nor all numbers (2022 format)"
    raise ValueError(msg)


def _bitget_balances(
    checks: _Checks, mapping: Any, keys: tuple[str, ...], version: str, where: str
) -> dict[str, Decimal]:
    """A node's balances, read as the detected version writes them (no mixing of the two)."""
    if version == BITGET_STRINGS:
        return checks.balances(mapping, keys, where)
    if not isinstance(mapping, dict) or tuple(mapping) != keys:
        msg = f"{where}: balances must be an object with keys {keys}"
        raise ValueError(msg)
    values: dict[str, Decimal] = {}
    for coin, value in mapping.items():
        if isinstance(value, bool) or not isinstance(value, Decimal | int):
            msg = f"{where}.{coin}: {value!r} is not a JSON number (this proof's leaf uses numbers)"
            raise ValueError(msg)
        values[coin] = Decimal(value)
    checks.negative(values, where)
    return values


def load_bitget(text: str) -> Any:
    """Parse a Bitget proof keeping every number exact: decimals as ``Decimal`` with their scale."""
    return json.loads(text, parse_float=Decimal)


def verify_bitget(document: dict[str, Any], expected_root: str | None = None) -> Verdict:
    """Recompute a Bitget path proof from the user's leaf to the root (level 1).

    Either published version, detected from the file; parse it with :func:`load_bitget`.
    """

    def run(checks: _Checks) -> None:
        own = document["self"]
        version = bitget_version(document)
        keys = tuple(own["balances"])
        balances = _bitget_balances(checks, own["balances"], keys, version, "self")
        with localcontext(_EXACT):
            _bitget_path(checks, document, balances, list(keys), version, expected_root)

    return _verdict(
        run,
        ["that the root is the one Bitget published (give --root)"] if expected_root is None else [],
        [
            SUM_ONLY,
            "hashes are truncated to 64 bits: below a safe collision bound",
            "the hashed JSON depends on Java HashMap key order and number formatting",
            "Bitget's own tool accepts negative balances and subtotals",
        ],
    )


_EXACT = Context(prec=200, traps=[Inexact, Rounded])
"""Sums of Bitget balances are exact: a rounding would be an error, never silent."""


def _bitget_path(
    checks: _Checks,
    document: dict[str, Any],
    balances: dict[str, Decimal],
    keys: list[str],
    version: str,
    expected_root: str | None,
) -> None:
    own = document["self"]
    current = bitget_leaf(own["encryptUid"], own["nonce"], balances, version)
    if current != own["merkelLeaf"]:
        msg = "self: leaf hash does not match uid, nonce and balances"
        raise ValueError(msg)
    checks.passed(f"user leaf from uid, nonce and balances ({BITGET_VERSIONS[version]})")
    level = own["level"]
    path = document["path"]
    for i, step in enumerate(path[:-1]):
        if step.get("level") != level:
            msg = f"path[{i}]: level {step.get('level')} where {level} was expected"
            raise ValueError(msg)
        sibling = _bitget_balances(checks, step["balances"], tuple(keys), version, f"path[{i}]")
        sums = {k: balances[k] + sibling[k] for k in keys}
        role = step.get("role")
        if role == 1:
            current = bitget_parent(step["merkelLeaf"], current, sums, keys, level - 1, version)
        elif role in (2, 0):
            current = bitget_parent(current, step["merkelLeaf"], sums, keys, level - 1, version)
        else:
            msg = f"path[{i}]: role {role!r} is not 0, 1 or 2"
            raise ValueError(msg)
        balances, level = sums, level - 1
    checks.root = f"root {current} at level {level}; totals {_coins_text(balances, keys, strip_zeros)}"
    checks.passed(f"every parent hash and sum on the path ({len(path) - 1} steps), levels and roles")
    root = path[-1]
    root_balances = _bitget_balances(checks, root["balances"], tuple(keys), version, "root")
    if root.get("level") != 1 or level != 1 or current != root["merkelLeaf"]:
        msg = f"recomputed root {current} at level {level} differs from the proof's root"
        raise ValueError(msg)
    if any(balances[k] != root_balances[k] for k in keys):
        msg = "recomputed root balances differ from the proof's root balances"
        raise ValueError(msg)
    checks.passed("root hash and balances")
    if expected_root is not None:
        if current != expected_root:
            msg = "root differs from the published root"
            raise ValueError(msg)
        checks.passed("root equals the published root")
