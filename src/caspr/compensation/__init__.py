"""Incident compensation: who lost what, the funding waterfall, and the payout plan.

1. **Loss allocation.** Outflows from customer-owned wallets are customers' losses (from
   company or guarantee wallets, the company's). With scope ``affected_only`` each lost
   asset's units are shared over that asset's holders pro rata to their balances
   (largest remainder, ties by account id); with ``all_customers`` every balance of every
   asset loses the same share of its value (Bitfinex's generalised haircut).
2. **Valuation** at the compensation price: fixed, VWAP, or market value at the time of
   loss (prices.csv on the detection date, else the snapshot price; MiCA Art. 75(8)).
3. **Funding waterfall** over the total loss value: liability reserve first (drawn without
   further approval under Japan's proposed rule), then each insurance policy in order
   (in force at detection, covering the incident's risk, retention deducted, limit
   respected), then company capital, then external loans; what is left is the customers'
   shortfall.
4. **Payout plan**: one row per customer and asset, each source shared pro rata to what
   the row still needs, so every row's sources add up to its compensation exactly.

Reconciled exactly in integer minor units and checked at the end of every run:
Σ payouts = Σ funded; Σ funded + shortfall = Σ losses; no row above its loss.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal
from typing import TYPE_CHECKING, Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from caspr.compensation.incident import Incident, Kind, Policy, Price, Scope
from caspr.distribution.allocation import _largest, allocate
from caspr.engine import Engine
from caspr.errors import InputError, InvariantViolation, Problem
from caspr.money import canonical, quantize
from caspr.payouts import Scope as PayoutScope
from caspr.payouts import compensation_ids, snapshot_digest
from caspr.reserve import PolicyConditions, policy_problems
from caspr.snapshot.loader import Snapshot
from caspr.snapshot.schema import Cover
from caspr.units import decimal_units, units_decimal

if TYPE_CHECKING:
    from caspr.assess import EligibleFunding

RISKS: dict[Kind, frozenset[Cover]] = {
    Kind.HOT_WALLET_HACK: frozenset({Cover.HOT, Cover.CYBER, Cover.CRIME}),
    Kind.COLD_WALLET_HACK: frozenset({Cover.COLD, Cover.CYBER, Cover.CRIME}),
    Kind.MULTISIG_UI_COMPROMISE: frozenset({Cover.THIRD_PARTY_VENDOR, Cover.CYBER}),
    Kind.THIRD_PARTY_VENDOR: frozenset({Cover.THIRD_PARTY_VENDOR, Cover.CYBER}),
    Kind.INSIDER: frozenset({Cover.INSIDER, Cover.CRIME}),
    Kind.OTHER: frozenset({Cover.CYBER, Cover.CRIME}),
}
"""Which covers answer which kind of incident (a policy must name at least one)."""


@dataclass(frozen=True, slots=True)
class Step:
    """One step of the waterfall: what the source had, what it paid, and why."""

    source: str
    available: int
    paid: int
    note: str


@dataclass(frozen=True)
class CompensationResult:
    """Losses, the waterfall, the payout plan (an Arrow table) and the reconciliation."""

    incident: Incident
    currency: str
    scale: int
    prices: dict[str, tuple[Decimal, str]]
    customer_loss_units: dict[str, int]
    company_loss_units: dict[str, int]
    total_loss: int
    steps: tuple[Step, ...]
    shortfall: int
    payouts: pa.Table
    replenishment: dict[str, Any]
    asset_scales: dict[str, int]
    loss_rounding: dict[str, dict[str, str]] = dataclasses.field(default_factory=dict)
    """Per asset: exact loss value, the value after rounding once, and the difference."""
    warnings: tuple[str, ...] = ()

    @property
    def funded(self) -> int:
        """Σ paid by every source."""
        return sum(s.paid for s in self.steps)

    def units(self, asset: str, units: int) -> str:
        """Minor units of ``asset`` as a decimal string."""
        return canonical(Decimal(units).scaleb(-self.asset_scales[asset]))

    def money(self, units: int) -> str:
        """Minor units of the reporting currency as a decimal string."""
        return canonical(Decimal(units).scaleb(-self.scale))

    def unpaid_rows(self) -> list[dict[str, Any]]:
        """The plan's rows that pay nothing (so are not payouts), counted by reason."""
        table = self.payouts
        if table.num_rows == 0:
            return []
        zero = pc.match_substring_regex(table["compensation_amount"], r"^0(\.0*)?$")
        value_zero = pc.match_substring_regex(table["compensation_value"], r"^0(\.0*)?$")
        loss_zero = pc.match_substring_regex(table["loss_value"], r"^0(\.0*)?$")
        counts: dict[str, int] = {}
        for row_zero, no_value, no_loss in zip(
            zero.to_pylist(), value_zero.to_pylist(), loss_zero.to_pylist(), strict=True
        ):
            if not row_zero:
                continue
            if self.incident.compensation.policy is Policy.HAIRCUT:
                reason = "haircut: the loss is owed as an IOU (iou_value), nothing is paid now"
            elif no_loss:
                reason = f"the loss is worth less than one {self.currency} minor unit at its price"
            elif no_value:
                reason = "no funding left for this row: its loss is part of the customers' shortfall"
            else:
                reason = "the compensation is less than one minimal unit of the asset (floored to 0)"
            counts[reason] = counts.get(reason, 0) + 1
        return [{"reason": r, "rows": n} for r, n in sorted(counts.items())]

    def to_dict(self) -> dict[str, Any]:
        """summary.json."""
        return {
            "incident": self.incident.id,
            "kind": self.incident.kind.value,
            "detected_at": self.incident.detected_at.isoformat(),
            "policy": self.incident.compensation.policy.value,
            "scope": self.incident.compensation.scope.value,
            "currency": self.currency,
            "prices": {a: {"price": canonical(p), "basis": b} for a, (p, b) in sorted(self.prices.items())},
            "customer_loss": {a: self.units(a, u) for a, u in sorted(self.customer_loss_units.items())},
            "company_loss": {a: self.units(a, u) for a, u in sorted(self.company_loss_units.items())},
            "total_loss": self.money(self.total_loss),
            "loss_rounding": {"rule": LOSS_ROUNDING, "assets": self.loss_rounding},
            "waterfall": [
                {
                    "source": s.source,
                    "available": self.money(s.available),
                    "paid": self.money(s.paid),
                    "note": s.note,
                }
                for s in self.steps
            ],
            "funded": self.money(self.funded),
            "shortfall": self.money(self.shortfall),
            "payout_rows": self.payouts.num_rows,
            "unpaid_rows": self.unpaid_rows(),
            "warnings": list(self.warnings),
            "replenishment": self.replenishment,
            "reconciliation": [
                "Σ payouts = Σ funded",
                "Σ funded + shortfall = Σ losses",
                "no row above its loss",
            ],
        }


def _check_outflows(snapshot: Snapshot, engine: Engine, incident: Incident) -> dict[str, tuple[str, Decimal]]:
    wallets = {w["wallet_id"]: w for w in engine.table("wallets").to_pyarrow().to_pylist()}
    problems = []
    owners: dict[str, tuple[str, Decimal]] = {}
    for i, outflow in enumerate(incident.outflows):
        wallet = wallets.get(outflow.wallet)
        where = f"outflows.{i}"
        if wallet is None:
            problems.append(
                Problem("incident", None, f"{where}.wallet", f"no wallet {outflow.wallet!r} in wallets")
            )
        elif wallet["asset"] != outflow.asset:
            problems.append(
                Problem(
                    "incident",
                    None,
                    f"{where}.asset",
                    f"wallet {outflow.wallet} holds {wallet['asset']}, not {outflow.asset}",
                )
            )
        elif outflow.amount > wallet["amount"]:
            problems.append(
                Problem(
                    "incident",
                    None,
                    f"{where}.amount",
                    f"{outflow.amount} is more than the wallet holds ({canonical(wallet['amount'])})",
                )
            )
        elif outflow.asset not in snapshot.assets:
            problems.append(Problem("incident", None, f"{where}.asset", f"unknown asset {outflow.asset}"))
        else:
            owners[outflow.wallet] = (wallet["owner"], wallet["amount"])
    if problems:
        raise InputError(problems)
    return owners


def _market_prices(snapshot: Snapshot, engine: Engine, day: dt.date) -> dict[str, Decimal]:
    prices = {code: a.price for code, a in snapshot.assets.items()}
    if "prices" in engine.tables:
        p = engine.table("prices")
        rows = p.filter(p.date == day).to_pyarrow().to_pylist()
        prices.update({r["asset"]: r["price"] for r in rows})
    return prices


LOSS_ROUNDING = (
    "each asset's loss valued once: floor(Σ lost units × price) in the currency's minor unit; the "
    "rows share it by largest remainder (ties by account id), so Σ rows = the asset's loss value"
)


def _value(units: Any, scale: int, price: Decimal, fiat_scale: int, ranks: Any) -> tuple[Any, Decimal]:
    """Row values in fiat minor units, rounded once per asset; and the asset's exact value.

    The exact value of every row is ``units × price``; the asset's loss value is floored once
    (conservative: a credit to customers never exceeds what was lost), then the minor units left
    after flooring each row go to the largest remainders (ties by ``ranks``, account id order).
    Issue #15: a floor per row lost ¥68,418 on 1,000 BTC across 197,498 rows, unexplained.
    """
    sign, digits, exponent = price.as_tuple()
    del sign
    numerator = int("".join(map(str, digits)))
    shift = fiat_scale - scale + int(exponent)
    objects = np.asarray(units, dtype=object) * numerator
    exact = Decimal(int(objects.sum()) if len(objects) else 0).scaleb(-(fiat_scale + max(0, -shift)))
    if shift >= 0:  # every row's value is a whole number of minor units: nothing to round
        return objects * (10**shift), exact
    divisor = 10 ** (-shift)
    floors = objects // divisor
    total = int(objects.sum()) // divisor if len(objects) else 0
    left = total - int(floors.sum()) if len(floors) else 0
    if left:
        for index in _largest(objects - floors * divisor, divisor, left, np.asarray(ranks)):
            floors[index] += 1
    return floors, exact


def compensate(snapshot: Snapshot, incident: Incident, engine: Engine | None = None) -> CompensationResult:
    """Allocate the losses, run the waterfall and build the payout plan."""
    engine = engine or Engine(snapshot)
    owners = _check_outflows(snapshot, engine, incident)
    currency = snapshot.exchange.reporting_currency.value
    fiat_scale = snapshot.assets[currency].scale if currency in snapshot.assets else 0
    customer_units: dict[str, int] = {}
    company_units: dict[str, int] = {}
    for outflow in incident.outflows:
        asset = snapshot.assets[outflow.asset]
        units = asset.to_units(asset.quantize(outflow.amount))
        target = customer_units if owners[outflow.wallet][0] == "customer" else company_units
        target[outflow.asset] = target.get(outflow.asset, 0) + units
    market = _market_prices(snapshot, engine, incident.detected_at.date())
    policy = incident.compensation
    prices = {code: policy.prices.get(code, Price()).value(market[code]) for code in snapshot.assets}
    exact_values: dict[str, Decimal] = {}
    rows = _allocate_losses(snapshot, engine, incident, customer_units, prices, fiat_scale, exact_values)
    loss_values = rows["loss_value_units"]
    total = int(np.asarray(loss_values, dtype=object).sum()) if len(loss_values) else 0
    if policy.policy is Policy.HAIRCUT:
        steps: tuple[Step, ...] = ()
    else:
        steps = tuple(_waterfall(snapshot, incident, total, fiat_scale, _regime_funding(snapshot, engine)))
    funded = sum(s.paid for s in steps)
    payouts, paid = _payout_plan(snapshot, incident, rows, steps, fiat_scale, currency)
    _reconcile(total, steps, rows["loss_value_units"], paid)
    scales = {code: a.scale for code, a in snapshot.assets.items()}
    partial = CompensationResult(
        incident,
        currency,
        fiat_scale,
        prices,
        customer_units,
        company_units,
        total,
        steps,
        total - funded,
        payouts,
        {},
        scales,
        _rounding(rows, exact_values, fiat_scale),
        timing_warnings(snapshot.exchange.as_of, incident.detected_at),
    )
    return dataclasses.replace(partial, replenishment=_replenishment(snapshot, engine, partial))


STALE_SNAPSHOT_DAYS = 31
"""A snapshot more than a month from the incident no longer shows who held what when it happened."""


def timing_warnings(as_of: dt.datetime, detected_at: dt.datetime) -> tuple[str, ...]:
    """Say when the snapshot's date is far from the incident's (the holders may have changed).

    The losses are shared over the balances of the snapshot (the exchange before the incident);
    balances taken long before or after the incident name other holders and amounts.
    """
    gap = detected_at - as_of
    days = abs(gap).days
    if days <= STALE_SNAPSHOT_DAYS:
        return ()
    when = "before" if gap.total_seconds() < 0 else "after"
    return (
        f"the incident ({detected_at.date().isoformat()}) is {days} days {when} the snapshot "
        f"({as_of.date().isoformat()}): losses are shared over balances that may not be the "
        "holders' at the time of the incident; use a snapshot taken just before it",
    )


def _rounding(
    rows: dict[str, list[Any]], exact_values: dict[str, Decimal], scale: int
) -> dict[str, dict[str, str]]:
    """Per asset: the exact loss value, the value after the one rounding, and what was rounded off."""
    totals: dict[str, int] = {}
    for asset, value in zip(rows["asset"], rows["loss_value_units"], strict=True):
        totals[asset] = totals.get(asset, 0) + int(value)
    out = {}
    for asset, exact in sorted(exact_values.items()):
        rounded = Decimal(totals.get(asset, 0)).scaleb(-scale)
        out[asset] = {
            "exact": canonical(exact),
            "rounded": canonical(rounded),
            "rounded_off": canonical(exact - rounded),
        }
    return out


def _allocate_losses(
    snapshot: Snapshot,
    engine: Engine,
    incident: Incident,
    customer_units: dict[str, int],
    prices: dict[str, tuple[Decimal, str]],
    fiat_scale: int,
    rounding: dict[str, Decimal],
) -> dict[str, list[Any]]:
    """Per (account, asset): loss units and loss value (fiat minor units, rounded once per asset).

    ``rounding`` receives each asset's exact loss value (before the one rounding).
    """
    balances = engine.table("balances").to_pyarrow()
    accounts = balances["account_id"].combine_chunks()
    unique = pc.unique(accounts)
    ranks = pc.index_in(accounts, value_set=unique.take(pc.array_sort_indices(unique))).to_numpy()
    assets = balances["asset"].combine_chunks()
    amounts = balances["amount"].combine_chunks()
    out: dict[str, list[Any]] = {"account_id": [], "asset": [], "loss_units": [], "loss_value_units": []}
    scope = incident.compensation.scope
    ratio = (
        _haircut_ratio(snapshot, engine, incident, customer_units, prices)
        if scope is Scope.ALL_CUSTOMERS
        else None
    )
    for code, asset in snapshot.assets.items():
        if scope is Scope.AFFECTED_ONLY and not customer_units.get(code):
            continue
        mask = pc.equal(assets, code)
        held = decimal_units(pc.filter(amounts, mask).cast(pa.decimal128(38, asset.scale)))
        if ratio is None:
            losses = allocate(customer_units[code], held, ranks[np.asarray(mask)]).shares
        else:  # the same share of every balance; customers keep the sub-unit rounding
            losses = (np.asarray(held, dtype=object) * ratio[0] // ratio[1]).tolist()
        keep = [i for i, loss in enumerate(losses) if loss > 0]
        if not keep:
            continue
        ids = pc.filter(accounts, mask).take(pa.array(keep)).to_pylist()
        lost = [losses[i] for i in keep]
        row_ranks = ranks[np.asarray(mask)][keep]
        values, exact = _value(lost, asset.scale, prices[code][0], fiat_scale, row_ranks)
        out["account_id"].extend(ids)
        out["asset"].extend([code] * len(keep))
        out["loss_units"].extend(lost)
        out["loss_value_units"].extend(values.tolist())
        rounding[code] = exact
    return out


def _haircut_ratio(
    snapshot: Snapshot,
    engine: Engine,
    incident: Incident,
    customer_units: dict[str, int],
    prices: dict[str, tuple[Decimal, str]],
) -> tuple[int, int]:
    """The generalised haircut as an exact fraction: fixed by the policy, else loss ÷ customer assets."""
    if incident.compensation.haircut is not None:
        numerator, denominator = incident.compensation.haircut.as_integer_ratio()
        return numerator, denominator
    liabilities = engine.liabilities()
    lost = sum(
        (Decimal(u).scaleb(-snapshot.assets[a].scale) * prices[a][0] for a, u in customer_units.items()),
        Decimal(0),
    )
    held = sum((liabilities[a].amount * prices[a][0] for a in liabilities), Decimal(0))
    ratio = quantize(lost / held, 12, ROUND_FLOOR) if held else Decimal(0)
    return ratio.as_integer_ratio()


def _to_units(amount: Decimal, scale: int) -> int:
    return int(quantize(amount, scale, ROUND_FLOOR).scaleb(scale))


def _regime_funding(snapshot: Snapshot, engine: Engine) -> EligibleFunding | None:
    """The funding the exchange's regime counts (the same answer ``assess`` gives; issue 15)."""
    from caspr.assess import eligible_funding  # noqa: PLC0415 - assess imports the rule packs

    try:
        return eligible_funding(snapshot, engine)
    except (InputError, InvariantViolation):
        return None


def _waterfall(
    snapshot: Snapshot, incident: Incident, total: int, scale: int, counted: EligibleFunding | None
) -> list[Step]:
    """Reserve → insurance (in order) → company capital → loans; each pays what is left, up to what it has.

    The reserve available is what the exchange's regime counts as reserve (``counted``),
    not a list of deposit forms kept here.
    """
    funding = incident.compensation.funding
    left = total
    steps = []

    def take(source: str, available: int, note: str) -> None:
        nonlocal left
        paid = min(left, available)
        left -= paid
        steps.append(Step(source, available, paid, note))

    if funding.reserve:
        available = _to_units(counted.reserve, scale) if counted else 0
        take(
            "reserve",
            available,
            (
                f"reserve counted by {counted.regime}; drawn without further approval (proposed JP rule)"
                if counted
                else "no applicable regime counts a reserve"
            ),
        )
    policies = {p.id: p for p in snapshot.policies}
    order = funding.insurance if funding.insurance is not None else tuple(policies)
    conditions = PolicyConditions(risks=RISKS[incident.kind], third_party=True)
    for policy_id in order:
        policy = policies.get(policy_id)
        if policy is None:
            raise InputError(
                [Problem("incident", None, "compensation.funding.insurance", f"no policy {policy_id!r}")]
            )
        reasons = policy_problems(policy, incident.detected_at.date(), conditions)
        retention = _to_units(policy.retention, scale)
        limit = _to_units(policy.limit, scale)
        available = 0 if reasons else min(limit, max(0, left - retention))
        note = (
            "; ".join(reasons)
            if reasons
            else f"{policy.basis.value} limit {canonical(policy.limit)} "
            f"less retention {canonical(policy.retention)}"
        )
        take(f"insurance:{policy_id}", available, note)
    capital = funding.company_capital
    if capital is None:
        capital = snapshot.exchange.financials.get("own_funds", Decimal(0))
    take("company capital", _to_units(capital, scale), "own funds available for compensation")
    for loan in funding.loans:
        take(f"loan:{loan.lender}", _to_units(loan.amount, scale), "external funding")
    return steps


def _exact(values: Any) -> Any:
    """An integer array: uint64 when every value fits, Python integers otherwise."""
    try:
        return np.asarray(values, dtype=np.uint64)
    except (OverflowError, TypeError):
        return np.asarray(values, dtype=object)


def _row_ranks(account_ids: list[str], assets: list[str]) -> Any:
    """Each row's position in (account id, asset) order: the tie-break of every allocation."""
    table = pa.table(
        {"account_id": pa.array(account_ids, pa.string()), "asset": pa.array(assets, pa.string())}
    )
    order = pc.sort_indices(table, sort_keys=[("account_id", "ascending"), ("asset", "ascending")]).to_numpy()
    ranks = np.empty(len(order), dtype=np.int64)
    ranks[order] = np.arange(len(order))
    return ranks


def _payout_plan(
    snapshot: Snapshot,
    incident: Incident,
    rows: dict[str, list[Any]],
    steps: tuple[Step, ...],
    scale: int,
    currency: str,
) -> tuple[pa.Table, list[int]]:
    """One row per customer and asset: loss, compensation, and the share of each source.

    Each source is shared pro rata to what every row still needs (largest remainder, ties
    by account id then asset), so a row's sources add up to its compensation exactly.
    """
    losses = _exact(rows["loss_value_units"])
    needs = losses.copy()
    ranks = _row_ranks(rows["account_id"], rows["asset"])
    sources: dict[str, Any] = {}
    for step in steps:
        if step.paid == 0:
            continue
        shares = _exact(allocate(step.paid, needs, ranks).shares)
        sources[step.source] = shares
        needs = _exact(needs.astype(object) - shares.astype(object))
    values = losses.astype(object) - needs.astype(object)
    policy = incident.compensation.policy
    in_kind = policy is Policy.MAKE_WHOLE_IN_KIND
    loss_units = np.asarray(rows["loss_units"], dtype=object)
    if in_kind:
        full = values == losses.astype(object)
        safe = np.where(losses.astype(object) == 0, 1, losses.astype(object))
        units_out = np.where(full, loss_units, loss_units * values // safe)
    else:
        units_out = values
    kind = "in_kind" if in_kind else ("iou" if policy is Policy.HAIRCUT else "cash")
    iou = losses if policy is Policy.HAIRCUT else np.zeros(len(losses), dtype=np.uint64)
    table = _plan_text(
        snapshot,
        incident.id,
        rows,
        scale,
        currency,
        kind,
        {
            "loss_value": losses,
            "compensation_value": values,
            "iou_value": iou,
            **{f"source:{name}": shares for name, shares in sources.items()},
        },
        loss_units,
        units_out,
    )
    return table, [int(v) for v in values]


def _plan_text(
    snapshot: Snapshot,
    incident_id: str,
    rows: dict[str, list[Any]],
    scale: int,
    currency: str,
    kind: str,
    fiat_columns: dict[str, Any],
    loss_units: Any,
    units_out: Any,
) -> pa.Table:
    """The payout plan as text columns (plain decimals at each asset's scale), sorted, with ids."""
    con = duckdb.connect()
    assets = np.asarray(rows["asset"], dtype=object)
    parts: list[str] = []
    source_names = [c for c in fiat_columns if c.startswith("source:")]
    for code in dict.fromkeys(rows["asset"]):
        idx = np.nonzero(assets == code)[0]
        asset_scale = snapshot.assets[code].scale
        out_scale = asset_scale if kind == "in_kind" else scale
        segment = {
            "account_id": pa.array([rows["account_id"][i] for i in idx], pa.string()),
            "asset": pa.array([code] * len(idx), pa.string()),
            "loss": units_decimal(loss_units[idx], asset_scale),
            "compensation_amount": units_decimal(units_out[idx], out_scale),
            **{
                name: units_decimal(np.asarray(column, dtype=object)[idx], scale)
                for name, column in fiat_columns.items()
            },
        }
        name = f"segment_{len(parts)}"
        con.register(name, pa.table(segment))
        parts.append(name)
    text_sources = (
        ", ".join(
            f'CASE WHEN "{c}" > 0 THEN \'{c[7:]}=\' || CAST("{c}" AS VARCHAR) END' for c in source_names
        )
        or "NULL"
    )
    select = (
        "SELECT account_id, asset, CAST(loss AS VARCHAR) AS loss, CAST(loss_value AS VARCHAR) AS loss_value, "
        f"'{kind}' AS compensation, "
        + ("asset" if kind == "in_kind" else f"'{currency}'")
        + " AS compensation_asset, "
        "CAST(compensation_amount AS VARCHAR) AS compensation_amount, "
        "CAST(compensation_value AS VARCHAR) AS compensation_value, CAST(iou_value AS VARCHAR) AS iou_value, "
        + "".join(f'CAST("{c}" AS VARCHAR) AS "{c}", ' for c in source_names)
        + f"concat_ws(';', {text_sources}) AS sources FROM "
    )
    if not parts:
        empty = {
            c: pa.array([], pa.string())
            for c in (
                "payout_id",
                "account_id",
                "asset",
                "loss",
                "loss_value",
                "compensation",
                "compensation_asset",
                "compensation_amount",
                "compensation_value",
                "iou_value",
                "sources",
            )
        }
        return pa.table(empty)
    query = " UNION ALL ".join(select + part for part in parts) + " ORDER BY account_id, asset"
    table = con.sql(query).to_arrow_table()
    scope = PayoutScope(snapshot.exchange.id, snapshot_digest(snapshot.root), incident_id)
    ids = compensation_ids(scope, table["account_id"].to_pylist(), table["asset"].to_pylist())
    return table.add_column(0, "payout_id", pa.array(ids, pa.string()))


def _reconcile(total: int, steps: tuple[Step, ...], losses: list[int], paid: list[int]) -> None:
    """Σ payouts = Σ funded; Σ funded + shortfall = Σ losses; no row above its loss."""
    funded = sum(step.paid for step in steps)
    if sum(paid) != funded:
        raise InvariantViolation("payouts-equal-funded", f"{sum(paid)} != {funded}")
    if sum(losses) != total or funded > total:
        raise InvariantViolation(
            "funded-plus-shortfall", f"funded {funded}, losses {sum(losses)}, total {total}"
        )
    if any(p > loss or p < 0 for p, loss in zip(paid, losses, strict=True)):
        raise InvariantViolation("payout-within-loss", "a row is compensated above its loss or below zero")


def _replenishment(snapshot: Snapshot, engine: Engine, result: CompensationResult) -> dict[str, Any]:
    """After the drawdown: each applicable regime's requirement against what is left."""
    from caspr.assess import assess  # noqa: PLC0415 - assess imports the rule packs; keep start-up light

    drawn = sum(s.paid for s in result.steps if s.source == "reserve")
    claimed = sum(s.paid for s in result.steps if s.source.startswith("insurance:"))
    out: dict[str, Any] = {}
    try:
        report = assess(snapshot, engine=engine)
    except InputError:  # a snapshot the regimes cannot assess: no replenishment figure, said as such
        return out
    # an InvariantViolation is a bug in caspr: it stops the run, nothing is written (issue #16)
    for a in report.assessments:
        if a.requirement.amount == 0:
            continue
        before = a.funding.amount
        # what is left of what the regime counted: its reserve less the drawdown, its insurance
        # less the claims (a source never goes below zero; nothing uncounted is subtracted)
        after = max(Decimal(0), a.reserve - Decimal(drawn).scaleb(-result.scale)) + max(
            Decimal(0), a.insurance - Decimal(claimed).scaleb(-result.scale)
        )
        need = max(Decimal(0), a.requirement.amount - after)
        out[a.regime] = {
            "requirement": canonical(a.requirement.amount),
            "funding_before": canonical(before),
            "funding_after": canonical(after),
            "replenish": canonical(need),
        }
    return out
