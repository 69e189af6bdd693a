"""Profiles of synthetic exchanges, calibrated on research/incidents.md.

Sources for the calibration (incidents.md §4-5):

* Japan, Oct 2025: 13.47M accounts, 8.29M active (~60%), > ¥5 trillion of customer
  deposits, so about ¥370,000 per account on average; crypto by value BTC 59%,
  XRP 15%, ETH 13%, others 12%.
* Japan: customer crypto outside cold storage ≤ 5% of its JPY value (Ordinance Art.
  27(2)); DMM Bitcoin stated ≥ 95% cold; the exchange's own performance-guarantee
  crypto equals the customer crypto kept hot (PSA Art. 63-11-2).
* Hong Kong: ≥ 98% of client virtual assets cold (VATP Guidelines 10.6(c)).
* Korea: ≥ 80% cold by economic value (VAUPA Enforcement Decree).
* Observed hot shares elsewhere: 1-15% (Deribit ~1%, Binance 2019 ~2%, Bitstamp ~12%).

The numbers below are modelling choices derived from those facts, not sourced values;
they are the defaults of ``caspr generate`` and are overridable by its options.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from caspr.money import AssetKind


@dataclass(frozen=True, slots=True)
class AssetDef:
    """A listed asset: code, kind, real ledger scale, indicative USD price."""

    code: str
    kind: AssetKind
    scale: int
    usd_price: Decimal


CRYPTO_UNIVERSE: tuple[AssetDef, ...] = (
    AssetDef("BTC", AssetKind.CRYPTO, 8, Decimal("90000")),
    AssetDef("ETH", AssetKind.CRYPTO, 18, Decimal("3200")),
    AssetDef("XRP", AssetKind.CRYPTO, 6, Decimal("2.2")),
    AssetDef("SOL", AssetKind.CRYPTO, 9, Decimal("140")),
    AssetDef("DOGE", AssetKind.CRYPTO, 8, Decimal("0.16")),
    AssetDef("ADA", AssetKind.CRYPTO, 6, Decimal("0.45")),
    AssetDef("DOT", AssetKind.CRYPTO, 10, Decimal("3")),
    AssetDef("LTC", AssetKind.CRYPTO, 8, Decimal("85")),
    AssetDef("BCH", AssetKind.CRYPTO, 8, Decimal("450")),
    AssetDef("XLM", AssetKind.CRYPTO, 7, Decimal("0.25")),
    AssetDef("LINK", AssetKind.CRYPTO, 18, Decimal("14")),
    AssetDef("AVAX", AssetKind.CRYPTO, 18, Decimal("15")),
    AssetDef("TRX", AssetKind.CRYPTO, 6, Decimal("0.28")),
    AssetDef("SHIB", AssetKind.CRYPTO, 18, Decimal("0.000012")),
    AssetDef("USDC", AssetKind.STABLECOIN, 6, Decimal("1")),
    AssetDef("USDT", AssetKind.STABLECOIN, 6, Decimal("1")),
)

FIAT_SCALE = {"JPY": 0, "KRW": 0, "EUR": 2, "USD": 2, "HKD": 2}
USD_FX = {
    "JPY": Decimal("150"),
    "KRW": Decimal("1400"),
    "EUR": Decimal("0.92"),
    "USD": Decimal("1"),
    "HKD": Decimal("7.8"),
}
"""Indicative units of currency per US dollar, for synthetic prices only."""


@dataclass(frozen=True, slots=True)
class Profile:
    """How one kind of exchange looks; sizes scale with the number of accounts."""

    name: str
    description: str
    jurisdiction: str
    currency: str
    licences: tuple[str, ...]
    mean_account_value: Decimal
    """Average customer assets per account, in the reporting currency."""
    active_share: Decimal
    fiat_share: Decimal
    """Share of an active account's value held as fiat."""
    mix: dict[str, Decimal]
    """Target share of customer crypto value per asset (sums to 1)."""
    customer_hot_share: Decimal
    """Share of each asset's customer holdings kept in hot wallets (aggregate target)."""
    custodian_share: Decimal
    guarantee: bool
    """Keeps Japan's performance-guarantee crypto equal to customer hot holdings."""
    turnover: dict[str, Decimal]
    """Annual trading volume per category as a multiple of customer crypto value."""
    insurance_hot_cover: Decimal
    """Insurance limit as a share of customer hot value (hot-wallet cyber policy)."""
    insurance_cold_cover: Decimal
    reserve_share: Decimal
    """Dedicated reserve deposits as a share of customer crypto value."""
    fixed_overheads: Decimal
    own_funds: Decimal
    market: str | None = None
    extra: dict[str, str] = field(default_factory=dict)


def _mix(**shares: str) -> dict[str, Decimal]:
    mix = {code: Decimal(v) for code, v in shares.items()}
    assert sum(mix.values()) == 1, mix
    return mix


PROFILES: dict[str, Profile] = {
    p.name: p
    for p in (
        Profile(
            name="jp-large",
            description="Large Japanese exchange (bitFlyer-like at 1M accounts: ~¥400bn custody)",
            jurisdiction="JP",
            currency="JPY",
            licences=("custody", "exchange_for_funds", "exchange_for_crypto", "trading_platform"),
            mean_account_value=Decimal("420000"),
            active_share=Decimal("0.60"),
            fiat_share=Decimal("0.12"),
            mix=_mix(
                BTC="0.59",
                XRP="0.15",
                ETH="0.13",
                SOL="0.025",
                DOGE="0.02",
                ADA="0.015",
                DOT="0.01",
                LTC="0.01",
                BCH="0.01",
                XLM="0.01",
                LINK="0.008",
                AVAX="0.007",
                TRX="0.005",
                SHIB="0.005",
                USDC="0.005",
            ),
            customer_hot_share=Decimal("0.03"),
            custodian_share=Decimal("0"),
            guarantee=True,
            turnover={"spot": Decimal("2.5"), "margin": Decimal("4"), "derivative": Decimal("3")},
            insurance_hot_cover=Decimal("0.5"),
            insurance_cold_cover=Decimal("0"),
            reserve_share=Decimal("0.004"),
            fixed_overheads=Decimal("12000000000"),
            own_funds=Decimal("45000000000"),
        ),
        Profile(
            name="jp-small",
            description="Small Japanese exchange (BITPoint-like at 100k accounts: ~¥15bn custody)",
            jurisdiction="JP",
            currency="JPY",
            licences=("custody", "exchange_for_funds", "exchange_for_crypto"),
            mean_account_value=Decimal("150000"),
            active_share=Decimal("0.55"),
            fiat_share=Decimal("0.15"),
            mix=_mix(BTC="0.62", XRP="0.18", ETH="0.14", LTC="0.02", BCH="0.02", XLM="0.02"),
            customer_hot_share=Decimal("0.04"),
            custodian_share=Decimal("0"),
            guarantee=True,
            turnover={"spot": Decimal("3"), "margin": Decimal("1.5")},
            insurance_hot_cover=Decimal("0"),
            insurance_cold_cover=Decimal("0"),
            reserve_share=Decimal("0.002"),
            fixed_overheads=Decimal("1500000000"),
            own_funds=Decimal("3000000000"),
        ),
        Profile(
            name="eu-casp",
            description="EU CASP with custody and exchange services (MiCA class 2)",
            jurisdiction="EU",
            currency="EUR",
            licences=(
                "custody",
                "exchange_for_funds",
                "exchange_for_crypto",
                "execution_of_orders",
                "transfer",
            ),
            mean_account_value=Decimal("3500"),
            active_share=Decimal("0.50"),
            fiat_share=Decimal("0.10"),
            mix=_mix(
                BTC="0.45",
                ETH="0.20",
                USDC="0.12",
                SOL="0.06",
                XRP="0.05",
                ADA="0.03",
                DOT="0.03",
                LINK="0.03",
                AVAX="0.03",
            ),
            customer_hot_share=Decimal("0.05"),
            custodian_share=Decimal("0.30"),
            guarantee=False,
            turnover={"spot": Decimal("6")},
            insurance_hot_cover=Decimal("0.2"),
            insurance_cold_cover=Decimal("0"),
            reserve_share=Decimal("0"),
            fixed_overheads=Decimal("2400000"),
            own_funds=Decimal("1500000"),
        ),
        Profile(
            name="hk-vatp",
            description="Hong Kong licensed virtual-asset trading platform (VATP)",
            jurisdiction="HK",
            currency="HKD",
            licences=("trading_platform", "custody"),
            mean_account_value=Decimal("80000"),
            active_share=Decimal("0.65"),
            fiat_share=Decimal("0.20"),
            mix=_mix(BTC="0.55", ETH="0.30", USDT="0.05", USDC="0.05", SOL="0.03", LTC="0.02"),
            customer_hot_share=Decimal("0.015"),
            custodian_share=Decimal("0"),
            guarantee=False,
            turnover={"spot": Decimal("8")},
            insurance_hot_cover=Decimal("1"),
            insurance_cold_cover=Decimal("0.35"),
            reserve_share=Decimal("0.16"),
            fixed_overheads=Decimal("60000000"),
            own_funds=Decimal("120000000"),
        ),
        Profile(
            name="kr-krw",
            description="Korean KRW-market exchange (VAUPA)",
            jurisdiction="KR",
            currency="KRW",
            licences=("custody", "exchange_for_funds", "exchange_for_crypto", "trading_platform"),
            mean_account_value=Decimal("2500000"),
            active_share=Decimal("0.45"),
            fiat_share=Decimal("0.15"),
            mix=_mix(
                BTC="0.40",
                XRP="0.25",
                ETH="0.15",
                DOGE="0.05",
                SOL="0.05",
                ADA="0.04",
                XLM="0.03",
                TRX="0.03",
            ),
            customer_hot_share=Decimal("0.12"),
            custodian_share=Decimal("0"),
            guarantee=False,
            turnover={"spot": Decimal("15")},
            insurance_hot_cover=Decimal("0.03"),
            insurance_cold_cover=Decimal("0"),
            reserve_share=Decimal("0.0005"),
            fixed_overheads=Decimal("90000000000"),
            own_funds=Decimal("500000000000"),
            market="krw",
        ),
        Profile(
            name="global",
            description="Global offshore exchange, derivatives-heavy, stablecoin-rich",
            jurisdiction="OTHER",
            currency="USD",
            licences=("custody", "trading_platform", "exchange_for_crypto", "execution_of_orders"),
            mean_account_value=Decimal("2200"),
            active_share=Decimal("0.40"),
            fiat_share=Decimal("0.02"),
            mix=_mix(
                BTC="0.35",
                USDT="0.25",
                ETH="0.15",
                USDC="0.08",
                SOL="0.05",
                XRP="0.04",
                DOGE="0.02",
                TRX="0.02",
                SHIB="0.01",
                LINK="0.01",
                AVAX="0.01",
                LTC="0.01",
            ),
            customer_hot_share=Decimal("0.08"),
            custodian_share=Decimal("0"),
            guarantee=False,
            turnover={"spot": Decimal("20"), "derivative": Decimal("120")},
            insurance_hot_cover=Decimal("0"),
            insurance_cold_cover=Decimal("0"),
            reserve_share=Decimal("0.02"),
            fixed_overheads=Decimal("400000000"),
            own_funds=Decimal("900000000"),
        ),
    )
}
