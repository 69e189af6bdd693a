"""A seeded synthetic exchange of any size, streamed in chunks (``caspr generate``).

Randomness is NumPy's PCG64 seeded from ``seed``: one child stream per chunk of
accounts (``SeedSequence.spawn``), so the same seed and size give byte-identical files.
Random draws are binary floats, but every amount written is first turned into integer
minor units and then written as an exact decimal (CSV text or Parquet DECIMAL(38, 18)),
so no float reaches a file. Memory stays flat: accounts are generated and written
``CHUNK`` at a time and only per-asset integer totals are kept.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import yaml

from caspr.atomic import atomic_folder
from caspr.money import AssetKind, quantize
from caspr.periods import add_months, anniversary
from caspr.snapshot.profiles import CRYPTO_UNIVERSE, FIAT_SCALE, PROFILES, USD_FX, AssetDef, Profile

CHUNK = 250_000
"""Accounts generated and written per chunk."""

GEN_SCALE_MAX = 8
"""Finest decimal place the generator draws at (an 18-scale asset still gets 8)."""

INT64_ROOM = 9 * 10**18
ENGINE_DECIMAL = pa.decimal128(38, 18)


@dataclass(frozen=True, slots=True)
class GeneratedAsset:
    """An asset as generated: its ledger scale, the scale drawn at, its price."""

    code: str
    kind: AssetKind
    scale: int
    gen_scale: int
    price: Decimal
    share: Decimal
    """Target share of an account's crypto value (0 for fiat)."""
    hold_probability: float  # float-ok: a sampling probability, not an amount


MICA_67_6 = (
    "loss_of_documents",
    "misrepresentation",
    "breach_of_duties",
    "conflicts_of_interest",
    "business_disruption",
    "safeguarding_negligence",
    "custody_liability",
)
"""The risks MiCA Art. 67(6)(a)-(g) requires of a policy, all covered by the synthetic EU policy."""


def _prices(profile: Profile, accounts: int) -> list[GeneratedAsset]:
    """The listed assets with prices in the reporting currency and safe draw scales."""
    fx = USD_FX[profile.currency]
    total_value = float(profile.mean_account_value) * max(accounts, 1) * 50  # float-ok: sizing bound
    listed: list[GeneratedAsset] = [
        GeneratedAsset(
            profile.currency,
            AssetKind.FIAT,
            FIAT_SCALE[profile.currency],
            FIAT_SCALE[profile.currency],
            Decimal(1),
            Decimal(0),
            0.0,
        )
    ]
    for definition in CRYPTO_UNIVERSE:
        share = profile.mix.get(definition.code)
        if share is None:
            continue
        price = quantize(definition.usd_price * fx, 8, ROUND_FLOOR).normalize()
        room = math.floor(math.log10(INT64_ROOM * float(price) / total_value))  # float-ok: sizing
        gen_scale = max(0, min(definition.scale, GEN_SCALE_MAX, room))
        probability = min(0.85, 0.08 + 2 * float(share))  # float-ok: sampling probability
        listed.append(
            GeneratedAsset(
                definition.code,
                _kind(definition, profile),
                definition.scale,
                gen_scale,
                price,
                share,
                probability,
            )
        )
    return sorted(listed, key=lambda a: a.code)


def _kind(definition: AssetDef, profile: Profile) -> AssetKind:
    """The asset's kind in the profile's jurisdiction.

    A Japanese exchange lists fiat-backed stablecoins as electronic payment instruments
    (電子決済手段, PSA Art. 2(5)), which are not 暗号資産: ``epi``. Elsewhere they stay
    ``stablecoin`` (classification left to each regime, docs/regimes.md).
    """
    if profile.jurisdiction == "JP" and definition.kind is AssetKind.STABLECOIN:
        return AssetKind.EPI
    return definition.kind


def _draw_values(rng: np.random.Generator, n: int, profile: Profile) -> tuple[Any, Any]:
    """Per account: fiat value and crypto value in the reporting currency (heavy-tailed)."""
    active = rng.random(n) < float(profile.active_share)  # float-ok
    sigma = 1.9
    mean_active = float(profile.mean_account_value / profile.active_share) * 0.97  # float-ok
    mu = math.log(mean_active) - sigma**2 / 2
    value = rng.lognormal(mu, sigma, n)
    dormant_value = rng.lognormal(math.log(mean_active / 2000), 1.5, n) * (rng.random(n) < 0.5)
    value = np.where(active, value, dormant_value)
    value = np.minimum(value, mean_active * 20_000)
    fiat = np.where(active, value * float(profile.fiat_share) * rng.uniform(0.3, 1.7, n), 0.0)  # float-ok
    return fiat, value - np.minimum(fiat, value)


def _units(rng: np.random.Generator, n: int, profile: Profile, assets: list[GeneratedAsset]) -> Any:
    """Integer minor units (at each asset's draw scale), shape (n, assets)."""
    fiat_value, crypto_value = _draw_values(rng, n, profile)
    crypto = [a for a in assets if a.kind is not AssetKind.FIAT]
    hold = rng.random((n, len(crypto))) < np.array([a.hold_probability for a in crypto])
    biggest = max(range(len(crypto)), key=lambda i: crypto[i].share)
    hold[~hold.any(axis=1), biggest] = True
    base = np.array([float(a.share) / a.hold_probability for a in crypto])  # float-ok
    weights = hold * base * rng.exponential(1.0, (n, len(crypto)))
    weights /= weights.sum(axis=1, keepdims=True)
    units = np.zeros((n, len(assets)), dtype=np.int64)
    column = 0
    for index, asset in enumerate(assets):
        if asset.kind is AssetKind.FIAT:
            quantity = fiat_value
        else:
            quantity = crypto_value * weights[:, column] / float(asset.price)  # float-ok
            column += 1
        units[:, index] = np.floor(quantity * 10.0**asset.gen_scale).astype(np.int64)
    return units


def _decimal_from_units(units: Any, gen_scale: int) -> pa.Array:
    """Exact decimal128(38, gen_scale) whose unscaled integers are ``units``."""
    as_int = pa.array(units, pa.int64()).cast(pa.decimal128(38, 0))
    return pa.Array.from_buffers(pa.decimal128(38, gen_scale), len(as_int), as_int.buffers())


def _text_from_units(units: Any, gen_scale: int) -> pa.Array:
    """Plain decimal text ("0.00000096", never "9.6E-7") of non-negative minor units."""
    digits = pa.array(units, pa.int64()).cast(pa.string())
    if gen_scale == 0:
        return digits
    padded = pc.utf8_lpad(digits, gen_scale + 1, "0")
    whole = pc.utf8_slice_codeunits(padded, 0, -gen_scale)
    fraction = pc.utf8_slice_codeunits(padded, -gen_scale)
    return pc.binary_join_element_wise(whole, fraction, ".")


def _amount_column(units: Any, rows: Any, cols: Any, assets: list[GeneratedAsset], fmt: str) -> pa.Array:
    """The amount column for the (row, col) cells of ``units``, in row-major order."""
    pieces: list[pa.Array] = []
    order: list[Any] = []
    for index, asset in enumerate(assets):
        positions = np.nonzero(cols == index)[0]
        chosen = units[rows[positions], index]
        if fmt == "parquet":
            pieces.append(_decimal_from_units(chosen, asset.gen_scale).cast(ENGINE_DECIMAL))
        else:
            pieces.append(_text_from_units(chosen, asset.gen_scale))
        order.append(positions)
    combined = pa.concat_arrays(pieces)
    inverse = np.empty(len(rows), dtype=np.int64)
    inverse[np.concatenate(order)] = np.arange(len(rows))
    return combined.take(pa.array(inverse))


def _account_ids(first: int, n: int, width: int) -> pa.Array:
    numbers = pa.array(np.arange(first, first + n, dtype=np.int64)).cast(pa.string())
    return pc.binary_join_element_wise("A", pc.utf8_lpad(numbers, width, "0"), "")


class _TableWriter:
    """Writes one table chunk by chunk as CSV or Parquet."""

    def __init__(self, path: Path, schema: pa.Schema, fmt: str) -> None:
        self.fmt = fmt
        self.writer: Any
        if fmt == "csv":
            self.writer = pacsv.CSVWriter(
                str(path), schema, write_options=pacsv.WriteOptions(quoting_style="needed")
            )
        else:
            self.writer = pq.ParquetWriter(str(path), schema, compression="zstd")

    def write(self, table: pa.Table) -> None:
        self.writer.write_table(table)

    def close(self) -> None:
        self.writer.close()


def _schema(fmt: str, columns: list[tuple[str, str]]) -> pa.Schema:
    types = {"text": pa.string(), "amount": ENGINE_DECIMAL if fmt == "parquet" else pa.string()}
    return pa.schema([(name, types[kind]) for name, kind in columns])


def _accounts_table(rng: np.random.Generator, ids: pa.Array) -> pa.Table:
    n = len(ids)
    kyc = np.array(["verified", "pending", "failed"])[rng.choice(3, n, p=[0.93, 0.05, 0.02])]
    status = np.array(["active", "frozen", "closed"])[rng.choice(3, n, p=[0.985, 0.01, 0.005])]
    return pa.table({"account_id": ids, "kyc": pa.array(kyc), "status": pa.array(status)})


@dataclass(frozen=True, slots=True)
class GenerationResult:
    """What was written: folder, accounts, balance rows, per-asset liabilities (units)."""

    out: Path
    accounts: int
    balance_rows: int
    totals: dict[str, int]


def generate(
    out: Path,
    accounts: int,
    seed: int,
    profile_name: str = "jp-large",
    fmt: str = "csv",
    as_of: dt.date = dt.date(2026, 9, 30),
    hot_share: Decimal | None = None,
    force: bool = False,
    progress: Callable[[int], None] | None = None,
) -> GenerationResult:
    """Write a synthetic snapshot folder at ``out`` (atomically: all or nothing).

    Raises:
        ValueError: unknown profile or format, non-positive size, or ``out`` exists
            and ``force`` is not set.
    """
    profile = PROFILES.get(profile_name)
    if profile is None:
        msg = f"unknown profile {profile_name!r} (known: {', '.join(PROFILES)})"
        raise ValueError(msg)
    if fmt not in ("csv", "parquet"):
        msg = f"unknown format {fmt!r} (csv or parquet)"
        raise ValueError(msg)
    if accounts <= 0:
        msg = "--accounts must be positive"
        raise ValueError(msg)
    if out.exists() and any(out.iterdir()) and not force:
        msg = f"{out} exists and is not empty (use --force to replace it)"
        raise ValueError(msg)
    with atomic_folder(out) as work:
        result = _write_all(work, accounts, seed, profile, fmt, as_of, hot_share, progress)
    return GenerationResult(out, result.accounts, result.balance_rows, result.totals)


def _write_all(
    work: Path,
    accounts: int,
    seed: int,
    profile: Profile,
    fmt: str,
    as_of: dt.date,
    hot_share: Decimal | None,
    progress: Callable[[int], None] | None,
) -> GenerationResult:
    assets = _prices(profile, accounts)
    width = max(8, len(str(accounts)))
    chunks = math.ceil(accounts / CHUNK)
    streams = np.random.SeedSequence(seed).spawn(chunks + 1)
    balances = _TableWriter(
        work / f"balances.{fmt}",
        _schema(fmt, [("account_id", "text"), ("asset", "text"), ("amount", "amount")]),
        fmt,
    )
    account_writer = _TableWriter(
        work / f"accounts.{fmt}",
        _schema(fmt, [("account_id", "text"), ("kyc", "text"), ("status", "text")]),
        fmt,
    )
    totals = dict.fromkeys((a.code for a in assets), 0)
    rows_written = 0
    codes = pa.array([a.code for a in assets])
    for chunk in range(chunks):
        rng = np.random.default_rng(streams[chunk])
        first = chunk * CHUNK
        n = min(CHUNK, accounts - first)
        units = _units(rng, n, profile, assets)
        ids = _account_ids(first + 1, n, width)
        accounts_table = _accounts_table(rng, ids)
        closed = np.asarray(pc.equal(accounts_table["status"], "closed"))
        units[closed, :] = 0
        rows, cols = np.nonzero(units > 0)
        balances.write(
            pa.table(
                {
                    "account_id": ids.take(pa.array(rows)),
                    "asset": codes.take(pa.array(cols)),
                    "amount": _amount_column(units, rows, cols, assets, fmt),
                }
            )
        )
        account_writer.write(accounts_table)
        for index, asset in enumerate(assets):
            totals[asset.code] += int(units[:, index].sum())
        rows_written += len(rows)
        if progress:
            progress(n)
    balances.close()
    account_writer.close()
    rng = np.random.default_rng(streams[chunks])
    _write_tables(work, fmt, profile, assets, totals, rng, as_of, hot_share)
    _write_documents(work, profile, assets, totals, as_of)
    return GenerationResult(work, accounts, rows_written, totals)


def _fmt_units(units: int, gen_scale: int) -> str:
    return f"{Decimal(units).scaleb(-gen_scale):f}"


def _value(units: int, asset: GeneratedAsset) -> Decimal:
    return Decimal(units).scaleb(-asset.gen_scale) * asset.price


def _wallet_rows(
    profile: Profile,
    assets: list[GeneratedAsset],
    totals: dict[str, int],
    rng: np.random.Generator,
    hot_share: Decimal | None,
) -> list[dict[str, str]]:
    """Customer hot/cold/custodian, guarantee and company wallets per asset."""
    rows: list[dict[str, str]] = []
    target = profile.customer_hot_share if hot_share is None else hot_share
    for asset in assets:
        total = totals[asset.code]
        code = asset.code.lower()

        def add(wallet: str, storage: str, owner: str, units: int, a: GeneratedAsset = asset) -> None:
            rows.append(
                {
                    "wallet_id": wallet,
                    "asset": a.code,
                    "storage": storage,
                    "owner": owner,
                    "amount": _fmt_units(units, a.gen_scale),
                }
            )

        if asset.kind is AssetKind.FIAT:
            add(f"{code}-trust-1", "fiat_trust", "customer", total)
            add(f"{code}-bank-company", "bank", "company", total // 10)
            continue
        jitter = Decimal(str(round(rng.uniform(0.6, 1.4), 3)))  # float-ok: text of a drawn factor
        hot_fraction = min(Decimal(1), target * jitter) if hot_share is None else target
        hot = int(Decimal(total) * hot_fraction)
        custodian = int(Decimal(total - hot) * profile.custodian_share)
        cold = total - hot - custodian
        add(f"{code}-hot-1", "hot", "customer", hot)
        add(f"{code}-cold-1", "cold", "customer", cold // 2)
        add(f"{code}-cold-2", "cold", "customer", cold - cold // 2)
        if custodian:
            add(f"{code}-custodian-1", "custodian", "customer", custodian)
        if profile.guarantee:
            add(f"{code}-guarantee-1", "cold", "guarantee", hot)
        add(f"{code}-company-hot", "hot", "company", total // 200)
        add(f"{code}-company-cold", "cold", "company", total // 25)
    return rows


def _write_tables(
    work: Path,
    fmt: str,
    profile: Profile,
    assets: list[GeneratedAsset],
    totals: dict[str, int],
    rng: np.random.Generator,
    as_of: dt.date,
    hot_share: Decimal | None,
) -> None:
    asset_rows = [
        {"asset": a.code, "kind": a.kind.value, "scale": str(a.scale), "price": f"{a.price:f}"}
        for a in assets
    ]
    wallet_rows = _wallet_rows(profile, assets, totals, rng, hot_share)
    crypto_value = sum(
        (_value(totals[a.code], a) for a in assets if a.kind is not AssetKind.FIAT), Decimal(0)
    )
    scale = FIAT_SCALE[profile.currency]
    volume_rows: list[dict[str, str]] = []
    days = [as_of - dt.timedelta(days=d) for d in range(365, 0, -1)]
    for category, multiple in profile.turnover.items():
        daily = float(crypto_value * multiple / 365)  # float-ok: drawn, then written exactly
        noise = rng.lognormal(-(0.35**2) / 2, 0.35, len(days))
        for day, factor in zip(days, noise, strict=True):
            notional = Decimal(int(daily * factor * 10**scale)).scaleb(-scale)
            volume_rows.append({"date": day.isoformat(), "category": category, "notional": f"{notional:f}"})
    first_priced = add_months(as_of, -12)  # the calendar year before as_of (365 or 366 days)
    price_rows = _price_history(
        assets, rng, [first_priced + dt.timedelta(days=d) for d in range((as_of - first_priced).days)]
    )
    if fmt == "parquet":
        _write_parquet_small(work / "assets.parquet", asset_rows, {"price"})
        _write_parquet_small(work / "wallets.parquet", wallet_rows, {"amount"})
        _write_parquet_small(work / "volumes.parquet", volume_rows, {"notional"})
        _write_parquet_small(work / "prices.parquet", price_rows, {"price"})
    else:
        tables = (
            ("assets", asset_rows),
            ("wallets", wallet_rows),
            ("volumes", volume_rows),
            ("prices", price_rows),
        )
        for name, rows in tables:
            pacsv.write_csv(
                pa.Table.from_pylist(rows),
                work / f"{name}.csv",
                write_options=pacsv.WriteOptions(quoting_style="needed"),
            )


def _price_history(
    assets: list[GeneratedAsset], rng: np.random.Generator, days: list[dt.date]
) -> list[dict[str, str]]:
    """A year of daily prices per crypto asset: a random walk ending near the as_of price."""
    rows: list[dict[str, str]] = []
    for asset in assets:
        if asset.kind is AssetKind.FIAT:
            continue
        volatility = 0.002 if asset.kind in (AssetKind.STABLECOIN, AssetKind.EPI) else 0.03
        steps = rng.normal(0.0, volatility, len(days))
        path = float(asset.price) * np.exp(np.cumsum(steps[::-1]))[::-1]  # float-ok: drawn, written as text
        for day, price in zip(days, path, strict=True):
            text = Decimal(f"{price:.8f}").normalize()
            rows.append({"date": day.isoformat(), "asset": asset.code, "price": f"{text:f}"})
    return rows


def _write_parquet_small(path: Path, rows: list[dict[str, str]], decimals: set[str]) -> None:
    table = pa.Table.from_pylist(rows)
    columns = [table[c].cast(ENGINE_DECIMAL) if c in decimals else table[c] for c in table.column_names]
    pq.write_table(pa.table(columns, names=table.column_names), path, compression="zstd")


def _write_documents(
    work: Path, profile: Profile, assets: list[GeneratedAsset], totals: dict[str, int], as_of: dt.date
) -> None:
    scale = FIAT_SCALE[profile.currency]
    crypto_value = sum(
        (_value(totals[a.code], a) for a in assets if a.kind is not AssetKind.FIAT), Decimal(0)
    )
    hot_value = crypto_value * profile.customer_hot_share

    def money(value: Decimal) -> str:
        return f"{quantize(value, scale, ROUND_FLOOR):f}"

    exchange = {
        "id": f"{profile.name}-synthetic",
        "name": f"Synthetic {profile.description}",
        "jurisdiction": profile.jurisdiction,
        "licences": list(profile.licences),
        "reporting_currency": profile.currency,
        "as_of": f"{as_of.isoformat()}T15:00:00+00:00",
        "financials": {
            "fixed_overheads_prev_year": money(profile.fixed_overheads),
            "own_funds": money(profile.own_funds),
        },
    }
    if profile.market:
        exchange["market"] = profile.market
    starts = as_of - dt.timedelta(days=120)
    policies = []
    if profile.insurance_hot_cover:
        policies.append(
            {
                "id": "cyber-hot-2026",
                "insurer": "Synthetic Marine & Fire",
                "rating": "A+",
                "limit": money(hot_value * profile.insurance_hot_cover),
                "retention": money(hot_value / 100),
                "basis": "aggregate",
                "covers": ["hot", "cyber", "third_party_vendor"],
                "starts": starts.isoformat(),
                "expires": anniversary(starts, 1).isoformat(),
                "currency": profile.currency,
                "cancellation_notice_days": 90,
                "insurer_affiliated": False,
            }
        )
    if profile.insurance_cold_cover:
        policies.append(
            {
                "id": "specie-cold-2026",
                "insurer": "Synthetic Specie Syndicate",
                "rating": "A",
                "limit": money(crypto_value * profile.insurance_cold_cover),
                "retention": "0",
                "basis": "aggregate",
                "covers": ["cold", "insider"],
                "starts": starts.isoformat(),
                "expires": anniversary(starts, 1).isoformat(),
                "currency": profile.currency,
                "cancellation_notice_days": 90,
                "insurer_affiliated": False,
            }
        )
    if profile.jurisdiction == "EU":
        policies.append(
            {
                "id": "pi-2026",
                "insurer": "Synthetic Assurance SE",
                "rating": "A",
                "limit": money(profile.fixed_overheads / 8),
                "retention": money(profile.fixed_overheads / 400),
                "basis": "aggregate",
                "covers": ["professional_liability", *MICA_67_6, "cyber", "crime", "hot", "cold"],
                "starts": starts.isoformat(),
                "expires": anniversary(starts, 1).isoformat(),
                "currency": profile.currency,
                "cancellation_notice_days": 90,
                "insurer_affiliated": False,
            }
        )
    reserve = crypto_value * profile.reserve_share
    deposits = []
    if reserve:
        deposits = [
            {
                "id": "trust-1",
                "form": "cash_trust",
                "amount": money(reserve * Decimal("0.6")),
                "currency": profile.currency,
                "held_at": "Synthetic Trust Bank",
                "on_trust": True,
            },
            {
                "id": "guarantee-1",
                "form": "bank_guarantee",
                "amount": money(reserve * Decimal("0.4")),
                "currency": profile.currency,
                "held_at": "Synthetic City Bank",
                "on_trust": True,
            },
        ]
    reserve_doc: dict[str, Any] = {"deposits": deposits}
    if profile.jurisdiction == "JP" and reserve:
        # the accounting view of Japan's proposed reserve: what the firm has booked (here, the
        # amount it set aside; docs/regimes.md "Two funding views")
        reserve_doc["booked"] = {
            "amount": money(reserve),
            "currency": profile.currency,
            "as_of": as_of.isoformat(),
        }
    for name, document in (
        ("exchange", exchange),
        ("insurance", {"policies": policies}),
        ("reserve", reserve_doc),
    ):
        (work / f"{name}.yaml").write_text(
            yaml.safe_dump(document, sort_keys=False, allow_unicode=True), encoding="utf-8"
        )
