"""In-kind distribution of segregated assets, pro rata within each asset's pool.

Japan's model (research/distribution.md §5.1; PSA Art. 63-19-2): customers' claims to
the transfer of crypto are paid ahead of other creditors out of the segregated customer
crypto and the performance-guarantee crypto of the same type; equally ranked customers
share each asset's pool pro rata. Held accounts (KYC, frozen, sanctions, disputed) keep
their share, reserved rather than paid. Entitlements below a de minimis value return to
the pool's undistributed remainder (Celsius $10). Reserve or insurance money may be paid
in cash pro rata to each account's valued shortfall.

Vectorised over Arrow and NumPy, with exact integer minor units throughout; invariants
are checked at the end of every run (:mod:`caspr.invariants`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from caspr.distribution.allocation import FLOOR_ONLY_RULE, ROUNDING_RULE, AccountKeys, allocate
from caspr.distribution.plan import Plan, Rounding
from caspr.engine import Engine, rows_by_asset
from caspr.invariants import check_distribution
from caspr.money import canonical
from caspr.snapshot.loader import Snapshot
from caspr.units import decimal_units, units_decimal


@dataclass(frozen=True, slots=True)
class AssetSummary:
    """One asset's pool and what became of it (integer minor units at ``scale``)."""

    asset: str
    scale: int
    pool: int
    claims: int
    paid: int
    """Paid now (held accounts excluded)."""
    held: int
    """Allocated to held accounts: reserved, not paid."""
    undistributed: int
    accounts: int
    bonus_units: int
    de_minimis_accounts: int

    @property
    def recovery_ratio(self) -> Decimal:
        """Allocated (paid + held) over claims (1 when there are no claims)."""
        allocated = self.paid + self.held
        return Decimal(allocated) / Decimal(self.claims) if self.claims else Decimal(1)

    def to_dict(self) -> dict[str, Any]:
        """Decimal strings at the asset's scale, and the ratio to 8 places."""

        def units(value: int) -> str:
            return canonical(Decimal(value).scaleb(-self.scale))

        return {
            "asset": self.asset,
            "pool": units(self.pool),
            "claims": units(self.claims),
            "paid": units(self.paid),
            "held": units(self.held),
            "undistributed": units(self.undistributed),
            "accounts": self.accounts,
            "recovery_ratio": canonical(round(self.recovery_ratio, 8)),
            "largest_remainder_units": self.bonus_units,
            "de_minimis_accounts": self.de_minimis_accounts,
        }


@dataclass(frozen=True)
class InKindResult:
    """Per-asset summaries, the per-account table, holds, and how rounding was done."""

    record_date: dt.date
    summaries: tuple[AssetSummary, ...]
    rows: pa.Table
    """account_id, asset, claim_amount, distributed_amount (paid now), held_amount (reserved), as
    text; held (bool)."""
    holds: pa.Table
    """account_id, reason."""
    rounding: str
    successor: str | None
    cash: dict[str, Decimal] = field(default_factory=dict)


def hold_reasons(engine: Engine, plan: Plan) -> dict[str, str]:
    """Account id → why it is held (KYC, status, named accounts, disputed claims)."""
    reasons: dict[str, str] = {}
    if "accounts" in engine.tables:
        table = engine.table("accounts").to_pyarrow()
        kyc_held = pc.is_in(table["kyc"], value_set=pa.array(list(plan.holds.kyc), pa.string()))
        status_held = pc.is_in(table["status"], value_set=pa.array(list(plan.holds.status), pa.string()))
        held = table.filter(pc.or_(kyc_held, status_held))  # only held rows reach Python
        for kyc, status, account in zip(
            held["kyc"].to_pylist(), held["status"].to_pylist(), held["account_id"].to_pylist(), strict=True
        ):
            if kyc in plan.holds.kyc:
                reasons[account] = f"kyc {kyc}"
            elif status in plan.holds.status:
                reasons[account] = f"account {status}"
    for account, reason in plan.holds.accounts.items():
        reasons[account] = reason
    for account, reason in plan.disputed.items():
        reasons[account] = f"disputed: {reason}"
    return reasons


def pools(snapshot: Snapshot, engine: Engine, plan: Plan) -> dict[str, Decimal]:
    """Each asset's pool: customer-owned wallets (+ guarantee crypto) + plan additions."""
    result = {}
    for a in engine.exposure().assets:
        pool = a.customer_held + (a.guarantee if plan.include_guarantee else Decimal(0))
        pool += plan.pool_additions.get(a.asset, Decimal(0)) - plan.pool_losses.get(a.asset, Decimal(0))
        result[a.asset] = max(pool, Decimal(0))
    del snapshot
    return result


def distribute_in_kind(snapshot: Snapshot, plan: Plan, engine: Engine | None = None) -> InKindResult:
    """Pro-rata in-kind distribution of every asset's pool over that asset's claims."""
    engine = engine or Engine(snapshot)
    balances = engine.table("balances").to_pyarrow()
    accounts = balances["account_id"].combine_chunks()
    reasons = hold_reasons(engine, plan)
    held_ids = pa.array(sorted(reasons), pa.string())
    held_mask = pc.is_in(accounts, value_set=held_ids)
    asset_column = balances["asset"].combine_chunks()
    amounts = balances["amount"].combine_chunks()
    held_flags = held_mask.to_numpy(zero_copy_only=False)
    rows_of = rows_by_asset(asset_column)
    pool_by_asset = pools(snapshot, engine, plan)
    tables, summaries = [], []
    for code, asset in snapshot.assets.items():
        index = rows_of.get(code, np.zeros(0, dtype=np.int64))
        take = pa.array(index)
        claims = decimal_units(amounts.take(take).cast(pa.decimal128(38, asset.scale)))
        pool = asset.to_units(asset.quantize(pool_by_asset[code]))
        ranks = AccountKeys(accounts.take(take))  # ties by account id, read only for tied rows
        allocation = allocate(pool, claims, ranks, plan.rounding is Rounding.LARGEST_REMAINDER)
        shares = allocation.values
        de_minimis = 0
        if plan.de_minimis > 0 and asset.price > 0:
            threshold = int(plan.de_minimis / asset.price * Decimal(10) ** asset.scale)
            small = (shares > 0) & (shares < threshold)
            de_minimis = int(small.sum())
            shares = np.where(small, 0, shares).astype(shares.dtype)
        held = held_flags[index]
        zero = np.zeros(1, dtype=shares.dtype)
        paid = np.where(held, zero, shares).astype(shares.dtype)  # a held share is reserved, not paid
        reserved = np.where(held, shares, zero).astype(shares.dtype)
        total_paid = int(paid.astype(object).sum()) if len(paid) else 0
        total_held = int(reserved.astype(object).sum()) if len(reserved) else 0
        summary = AssetSummary(
            code,
            asset.scale,
            pool,
            int(np.asarray(claims, dtype=object).sum()) if len(claims) else 0,
            total_paid,
            total_held,
            pool - total_paid - total_held,
            len(claims),
            allocation.bonus_units,
            de_minimis,
        )
        check_distribution(code, pool, claims, paid, reserved, summary.undistributed, held)
        summaries.append(summary)
        tables.append(
            pa.table(
                {
                    "account_id": accounts.take(take),
                    "asset": asset_column.take(take),
                    "claim": units_decimal(claims, asset.scale),
                    "distributed": units_decimal(paid, asset.scale),
                    "held_amount": units_decimal(reserved, asset.scale),
                    "held": pa.array(held, pa.bool_()),
                }
            )
        )
    holds = pa.table(
        {
            "account_id": pa.array(list(reasons), pa.string()),
            "reason": pa.array(list(reasons.values()), pa.string()),
        }
    ).sort_by("account_id")
    rule = ROUNDING_RULE if plan.rounding is Rounding.LARGEST_REMAINDER else FLOOR_ONLY_RULE
    result = InKindResult(
        plan.record_date or snapshot.exchange.as_of_date,
        tuple(summaries),
        _as_text(tables),
        holds,
        rule,
        plan.successor,
    )
    if plan.cash_proceeds > 0:
        return _with_cash(snapshot, plan, result)
    return result


def _as_text(tables: list[pa.Table]) -> pa.Table:
    """One table, amounts as plain decimal text at each asset's scale, sorted by account then asset."""
    con = duckdb.connect()
    parts = []
    for i, table in enumerate(tables):
        con.register(f"t{i}", table)
        parts.append(
            f"SELECT account_id, asset, CAST(claim AS VARCHAR) AS claim_amount, "
            f"CAST(distributed AS VARCHAR) AS distributed_amount, "
            f"CAST(held_amount AS VARCHAR) AS held_amount, held FROM t{i}"
        )
    if not parts:
        return pa.table(
            {
                "account_id": [],
                "asset": [],
                "claim_amount": [],
                "distributed_amount": [],
                "held_amount": [],
                "held": [],
            }
        )
    con.execute("SET preserve_insertion_order = true")
    query = " UNION ALL ".join(parts) + " ORDER BY account_id, asset"
    return con.sql(query).to_arrow_table()


def _with_cash(snapshot: Snapshot, plan: Plan, result: InKindResult) -> InKindResult:
    """Reserve or insurance money, in cash, pro rata to each account's valued shortfall."""
    currency = snapshot.exchange.reporting_currency.value
    fiat = snapshot.assets.get(currency)
    scale = fiat.scale if fiat else 0
    shortfall: dict[str, Decimal] = {}
    rows = result.rows
    for account, asset, claim, paid, held in zip(
        rows["account_id"].to_pylist(),
        rows["asset"].to_pylist(),
        rows["claim_amount"].to_pylist(),
        rows["distributed_amount"].to_pylist(),
        rows["held_amount"].to_pylist(),
        strict=True,
    ):
        missing = (Decimal(claim) - Decimal(paid) - Decimal(held)) * snapshot.assets[asset].price
        if missing > 0:
            shortfall[account] = shortfall.get(account, Decimal(0)) + missing
    weights = {a: int(v * Decimal(10) ** scale) for a, v in shortfall.items()}
    ordered = sorted(weights)
    cash_units = int(plan.cash_proceeds * Decimal(10) ** scale)
    allocation = allocate(cash_units, [weights[a] for a in ordered], np.arange(len(ordered)))
    cash = {a: Decimal(s).scaleb(-scale) for a, s in zip(ordered, allocation.shares, strict=True) if s}
    return InKindResult(
        result.record_date,
        result.summaries,
        result.rows,
        result.holds,
        result.rounding,
        result.successor,
        cash,
    )
