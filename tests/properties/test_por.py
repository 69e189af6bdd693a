"""Hypothesis: any ledger gives a tree whose every proof verifies, whose root totals are the
per-asset sums, and whose bytes are the same in C and in Python; a changed balance fails."""

from __future__ import annotations

import tempfile
from decimal import Decimal
from pathlib import Path

import numpy as np
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from caspr.custody import kernels, por

KERNELS = sorted({kernels.PurePython, kernels.kernels()}, key=str)


@st.composite
def ledgers(draw):
    """A ledger: 1-40 accounts with unicode ids, 1-5 assets, sparse amounts up to 2^100 units."""
    assets = draw(st.integers(1, 5))
    codes = [f"C{i}" for i in range(assets)]
    scales = draw(st.lists(st.integers(0, 18), min_size=assets, max_size=assets))
    names = draw(st.sets(st.text(min_size=1, max_size=12), min_size=1, max_size=40))
    ids = sorted(names, key=str.encode)  # the ledger's order: ascending bytes
    held = [
        draw(st.dictionaries(st.integers(0, assets - 1), st.integers(0, 2**100), max_size=assets))
        for _ in ids
    ]
    offsets = np.zeros(len(ids) + 1, dtype=np.int64)
    np.cumsum([len(h) for h in held], out=offsets[1:])
    which = [a for h in held for a in h]
    amounts = [v for h in held for v in h.values()]
    units = np.array([[v >> 64, v & (2**64 - 1)] for v in amounts], dtype=np.uint64).reshape(-1, 2)
    totals = [sum(h.get(a, 0) for h in held) for a in range(assets)]
    short = draw(st.integers(0, assets))  # this asset (if any) is one unit short in the wallets
    holdings = {
        code: Decimal(total - (1 if a == short and total else 0)).scaleb(-scale)
        for a, (code, scale, total) in enumerate(zip(codes, scales, totals, strict=True))
    }
    ledger = por.Ledger(
        exchange="ex",
        as_of="2026-09-30",
        codes=codes,
        scales=scales,
        holdings=holdings,
        ids=pa.array(ids, pa.string()),
        offsets=offsets,
        assets=np.array(which, dtype=np.uint16),
        units=units.astype(">u8"),
    )
    return ledger, held, totals


@given(ledgers(), st.integers(0, 2**32))
@settings(max_examples=60, deadline=None)
def test_every_proof_verifies_and_the_root_holds_the_sums(case, seed):
    ledger, held, totals = case
    codes = ledger.codes
    with tempfile.TemporaryDirectory() as folder:
        built = [
            por.build_tree(ledger, Path(folder) / f"k{i}", "audit", seed, kernel is kernels.PurePython)
            for i, kernel in enumerate(KERNELS)
        ]
        assert all(b.root == built[0].root for b in built)  # C and Python: the same bytes
        root = built[0].root
        assert root["root"]["totals"] == {c: str(t) for c, t in zip(codes, totals, strict=True)}
        for row, code, total in zip(root["solvency"], codes, totals, strict=True):
            assert row["solvent"] == (Decimal(row["customer_holdings"]) >= Decimal(row["liabilities"]))
            assert Decimal(row["liabilities"]) == Decimal(total).scaleb(-ledger.scales[codes.index(code)])
        out = Path(folder) / "k0"
        for account, balances in zip(ledger.ids.to_pylist(), held, strict=True):
            proof = por.proof(out, account)
            assert proof["balances"] == {c: str(balances.get(a, 0)) for a, c in enumerate(codes)}
            assert por.verify(proof, root).valid
            bumped = dict(proof, balances=dict(proof["balances"]))
            bumped["balances"][codes[0]] = str(int(bumped["balances"][codes[0]]) + 1)
            assert not por.verify(bumped, root).valid
