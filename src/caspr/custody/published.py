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
  serialised); sums are exact with trailing zeros stripped; ``role`` 1 left, 2 right,
  0 empty; the root is level 1.

All three parents commit only to the *sum* of their children, not to each child's
balances: the max(vL, vR) parent-sum attack (Hu, Zhang & Guo 2018) passes any single
path check. Negative balances are rejected here, though the formats' own tools accept them.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from decimal import ROUND_DOWN, Decimal
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
    """Collects negative values (flagged, then rejected) while a verifier runs."""

    def __init__(self) -> None:
        self.negatives: list[str] = []

    def balances(self, mapping: Any, coins: tuple[str, ...] | None, where: str) -> dict[str, Decimal]:
        if not isinstance(mapping, dict) or (coins is not None and tuple(mapping) != coins):
            msg = f"{where}: balances must be an object with keys {coins}"
            raise ValueError(msg)
        values = {coin: _amount(text, f"{where}.{coin}") for coin, text in mapping.items()}
        self.negatives.extend(f"{where}.{coin} = {v}" for coin, v in values.items() if v < 0)
        return values


def _verdict(
    run: Callable[[_Checks], None], checked: list[str], not_checked: list[str], weaknesses: list[str]
) -> Verdict:
    checks = _Checks()
    try:
        run(checks)
    except (ValueError, KeyError, TypeError, IndexError) as exc:
        return Verdict(False, (str(exc),), tuple(checked), tuple(not_checked), tuple(weaknesses))
    if checks.negatives:
        reason = (
            "hash chain recomputes, but negative balances appear (the format's own tool accepts them; "
            "a fake negative account can cancel real liabilities): " + "; ".join(checks.negatives[:5])
        )
        return Verdict(False, (reason,), tuple(checked), tuple(not_checked), tuple(weaknesses))
    return Verdict(True, (), tuple(checked), tuple(not_checked), tuple(weaknesses))


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
        root = path[-1]
        root_balances = checks.balances(root["balances"], OKX_COINS, "root")
        if root["height"] != height or root["hash"] != current:
            msg = f"recomputed root {current} at height {height} differs from the proof's root"
            raise ValueError(msg)
        if any(okx_format(balances[c]) != okx_format(root_balances[c]) for c in OKX_COINS):
            msg = "recomputed root balances differ from the proof's root balances"
            raise ValueError(msg)
        if expected_root is not None and root["hash"] != expected_root:
            msg = "root differs from the published root"
            raise ValueError(msg)

    return _verdict(
        run,
        [
            "user leaf from nonce and balances",
            "every parent hash and sum on the path",
            "heights and sides",
            "root hash, height and balances",
        ],
        ["that the root is the one OKX published (give --root)"] if expected_root is None else [],
        [
            SUM_ONLY,
            "siblings' balances are not range-checked by the format (negatives pass OKX's tool)",
            "only BTC, ETH and USDT are committed",
        ],
    )


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
    found: dict[str, Any] = {}

    def run(checks: _Checks) -> None:
        levels = _parse_tree(tree_text, checks)
        top = max(levels)
        if len(levels[top]) != 1 or sorted(levels) != list(range(1, top + 1)):
            msg = "the tree must have one root and every level from 1 to the root"
            raise ValueError(msg)
        found["rechecked"] = sum(_check_level(levels, h) for h in range(2, top + 1))
        totals = checks.balances(user_info["totalBalances"], OKX_COINS, "user.totalBalances")
        body = json.dumps({c: user_info["totalBalances"][c] for c in OKX_COINS}, separators=(",", ":"))
        user_hash = _sha(user_info["nonce"] + body)
        if user_hash != user_info["hash"]:
            msg = "user hash does not match nonce and totalBalances"
            raise ValueError(msg)
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
        root_hash = levels[top][0][0]
        if expected_root is not None and root_hash != expected_root:
            msg = "root differs from the published root"
            raise ValueError(msg)
        found["root"], found["totals"] = root_hash, levels[top][0][1]

    verdict = _verdict(
        run,
        [
            "every internal node's hash and per-coin sums (OKX's own tool checks none)",
            "padding copies",
            "user hash from nonce and totals",
            "each user leaf in the tree",
            "user leaves add up to the totals",
        ],
        [] if expected_root is not None else ["that the root is the one OKX published (give --root)"],
        [
            SUM_ONLY + "; a full-tree recheck catches it, a path check would not",
            "a user's balance may be split over several leaves; the tree does not bind leaves to one user",
        ],
    )
    if verdict.valid:
        totals = ", ".join(f"{c} {okx_format(v)}" for c, v in found["totals"].items())
        extra = (f"root {found['root']} with {totals}; {found['rechecked']} internal nodes rechecked",)
        return Verdict(True, (), verdict.checked + extra, verdict.not_checked, verdict.weaknesses)
    return verdict


# ---------------------------------------------------------------------------------------- Bitget


def bitget_json(balances: dict[str, Decimal], keys: list[str]) -> str:
    """Bitget's balances JSON: the file's key order, plain strings without trailing zeros."""
    return "{" + ",".join(f'"{k}":"{strip_zeros(balances[k])}"' for k in keys) + "}"


def bitget_leaf(uid: str, nonce: str, raw: dict[str, str]) -> str:
    """Bitget leaf (64 bits): the balance strings exactly as published."""
    body = "{" + ",".join(f'"{k}":"{v}"' for k, v in raw.items()) + "}"
    return _sha(f"{uid},{nonce},{body}")[:16]


def bitget_parent(left: str, right: str, sums: dict[str, Decimal], keys: list[str], level: int) -> str:
    """Bitget parent (64 bits) at ``level`` (the root is level 1)."""
    return _sha(f"{left}{right},{bitget_json(sums, keys)},{level}")[:16]


def verify_bitget(document: dict[str, Any], expected_root: str | None = None) -> Verdict:
    """Recompute a Bitget path proof from the user's leaf to the root (level 1)."""

    def run(checks: _Checks) -> None:
        own = document["self"]
        keys = list(own["balances"])
        balances = checks.balances(own["balances"], tuple(keys), "self")
        current = bitget_leaf(own["encryptUid"], own["nonce"], own["balances"])
        if current != own["merkelLeaf"]:
            msg = "self: leaf hash does not match uid, nonce and balances"
            raise ValueError(msg)
        level = own["level"]
        path = document["path"]
        for i, step in enumerate(path[:-1]):
            if step.get("level") != level:
                msg = f"path[{i}]: level {step.get('level')} where {level} was expected"
                raise ValueError(msg)
            sibling = checks.balances(step["balances"], tuple(keys), f"path[{i}]")
            sums = {k: balances[k] + sibling[k] for k in keys}
            role = step.get("role")
            if role == 1:
                current = bitget_parent(step["merkelLeaf"], current, sums, keys, level - 1)
            elif role in (2, 0):
                current = bitget_parent(current, step["merkelLeaf"], sums, keys, level - 1)
            else:
                msg = f"path[{i}]: role {role!r} is not 0, 1 or 2"
                raise ValueError(msg)
            balances, level = sums, level - 1
        root = path[-1]
        root_balances = checks.balances(root["balances"], tuple(keys), "root")
        if root.get("level") != 1 or level != 1 or current != root["merkelLeaf"]:
            msg = f"recomputed root {current} at level {level} differs from the proof's root"
            raise ValueError(msg)
        if any(balances[k] != root_balances[k] for k in keys):
            msg = "recomputed root balances differ from the proof's root balances"
            raise ValueError(msg)
        if expected_root is not None and current != expected_root:
            msg = "root differs from the published root"
            raise ValueError(msg)

    return _verdict(
        run,
        [
            "user leaf from uid, nonce and balances",
            "every parent hash and sum on the path",
            "levels and roles",
            "root hash and balances",
        ],
        ["that the root is the one Bitget published (give --root)"] if expected_root is None else [],
        [
            SUM_ONLY,
            "hashes are truncated to 64 bits: below a safe collision bound",
            "the hashed JSON depends on Java HashMap key order and number formatting",
        ],
    )
