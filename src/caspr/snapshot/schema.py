"""The snapshot contract (DESIGN.md, "Snapshot format"): documents, tables, enumerations.

Documents (``exchange.yaml``, ``insurance.yaml``, ``reserve.yaml``) are frozen pydantic
models. Tables are described by :class:`TableSpec` so that the loader checks CSV and
Parquet alike, column by column, and the engine reads them with exact DECIMAL types.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from caspr.money import AssetKind


class Jurisdiction(StrEnum):
    """Where the exchange is licensed; each maps to the regimes that apply."""

    JP = "JP"
    EU = "EU"
    HK = "HK"
    KR = "KR"
    SG = "SG"
    US = "US"
    GB = "GB"
    AE = "AE"
    BH = "BH"
    TW = "TW"
    OTHER = "OTHER"


class Currency(StrEnum):
    """Reporting currencies caspr knows (ISO 4217; each has its minor unit in :mod:`caspr.currency`).

    The EU currencies other than the euro (PLN, SEK, CZK, HUF, DKK, RON, BGN) are here so that
    a CASP reporting in them can be assessed under MiCA with the rates its snapshot supplies.
    """

    JPY = "JPY"
    EUR = "EUR"
    USD = "USD"
    HKD = "HKD"
    KRW = "KRW"
    SGD = "SGD"
    GBP = "GBP"
    PLN = "PLN"
    SEK = "SEK"
    CZK = "CZK"
    HUF = "HUF"
    DKK = "DKK"
    RON = "RON"
    BGN = "BGN"
    CHF = "CHF"
    NOK = "NOK"
    ISK = "ISK"
    BHD = "BHD"
    TWD = "TWD"
    AED = "AED"


class Licence(StrEnum):
    """Crypto-asset services as MiCA Art. 3(1)(16) lists them."""

    CUSTODY = "custody"
    TRADING_PLATFORM = "trading_platform"
    EXCHANGE_FOR_FUNDS = "exchange_for_funds"
    EXCHANGE_FOR_CRYPTO = "exchange_for_crypto"
    EXECUTION_OF_ORDERS = "execution_of_orders"
    PLACING = "placing"
    RECEPTION_TRANSMISSION = "reception_transmission"
    ADVICE = "advice"
    PORTFOLIO_MANAGEMENT = "portfolio_management"
    TRANSFER = "transfer"


class Storage(StrEnum):
    """Where a wallet's assets sit."""

    HOT = "hot"
    COLD = "cold"
    CUSTODIAN = "custodian"
    FIAT_TRUST = "fiat_trust"
    BANK = "bank"


class Owner(StrEnum):
    """Whose assets a wallet holds.

    ``guarantee`` is the exchange's own crypto set apart as a performance guarantee
    (Japan's 履行保証暗号資産, PSA Art. 63-11-2).
    """

    CUSTOMER = "customer"
    COMPANY = "company"
    GUARANTEE = "guarantee"


class Kyc(StrEnum):
    """Know-your-customer state of an account."""

    VERIFIED = "verified"
    PENDING = "pending"
    FAILED = "failed"


class AccountStatus(StrEnum):
    """Operational state of an account."""

    ACTIVE = "active"
    FROZEN = "frozen"
    CLOSED = "closed"


class VolumeCategory(StrEnum):
    """Trading categories that volumes are reported in."""

    SPOT = "spot"
    MARGIN = "margin"
    DERIVATIVE = "derivative"
    OTC = "otc"
    LENDING = "lending"
    STAKING = "staking"


class Cover(StrEnum):
    """Risks an insurance policy may cover.

    The last seven are the risks MiCA Art. 67(6)(a)-(g) lists, one value each, so that a
    policy states which of them it covers (``professional_liability`` alone does not say).
    """

    HOT = "hot"
    COLD = "cold"
    CUSTODIAN = "custodian"
    INSIDER = "insider"
    THIRD_PARTY_VENDOR = "third_party_vendor"
    CRIME = "crime"
    PROFESSIONAL_LIABILITY = "professional_liability"
    CYBER = "cyber"
    LOSS_OF_DOCUMENTS = "loss_of_documents"
    """MiCA 67(6)(a)."""
    MISREPRESENTATION = "misrepresentation"
    """MiCA 67(6)(b): misrepresentations or misleading statements made."""
    BREACH_OF_DUTIES = "breach_of_duties"
    """MiCA 67(6)(c): acts, errors or omissions breaching legal and regulatory obligations, the
    duty to act honestly, fairly and professionally towards clients, or confidentiality."""
    CONFLICTS_OF_INTEREST = "conflicts_of_interest"
    """MiCA 67(6)(d): failure to maintain procedures preventing conflicts of interest."""
    BUSINESS_DISRUPTION = "business_disruption"
    """MiCA 67(6)(e): losses from business disruption or system failures."""
    SAFEGUARDING_NEGLIGENCE = "safeguarding_negligence"
    """MiCA 67(6)(f): gross negligence in safeguarding clients' crypto-assets and funds."""
    CUSTODY_LIABILITY = "custody_liability"
    """MiCA 67(6)(g): the CASP's liability towards clients under Art. 75(8)."""


class Basis(StrEnum):
    """How a policy's limit applies."""

    PER_OCCURRENCE = "per_occurrence"
    AGGREGATE = "aggregate"


class DepositForm(StrEnum):
    """Forms in which a reserve may be held."""

    CASH_TRUST = "cash_trust"
    DEPOSIT = "deposit"
    FIXED_DEPOSIT = "fixed_deposit"
    BANK_GUARANTEE = "bank_guarantee"
    ESCROW = "escrow"
    GOVERNMENT_BONDS = "government_bonds"


class Market(StrEnum):
    """Korea (VAUPA Decree): which floor of the insurance-or-reserve cover applies.

    ``krw``: an exchange with a KRW market (원화마켓), KRW 3bn floor; ``coin``: a coin-market
    exchange (코인마켓), and ``custody``: a wallet or custody business (지갑·보관업자), KRW 0.5bn.
    """

    KRW = "krw"
    COIN = "coin"
    CUSTODY = "custody"


class MicaAuthorisation(StrEnum):
    """Under which title an EU CASP provides its services (MiCA Art. 59, Art. 143(3))."""

    AUTHORISED = "authorised"
    """Authorised under MiCA Art. 63 (Title V applies in full)."""
    TRANSITIONAL = "transitional"
    """Provides services under national law in the Art. 143(3) transitional period."""


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", strict=False)


class FxRateEntry(_Frozen):
    """One exchange rate the snapshot uses: 1 ``base`` = ``rate`` ``quote`` on ``date`` per ``source``.

    caspr never invents a rate (e.g. the ECB euro reference rate of the day before ``as_of``
    has ``source: ECB euro foreign exchange reference rate``).
    """

    base: Currency
    quote: Currency
    rate: Decimal = Field(gt=0)
    date: dt.date
    source: str = Field(min_length=1)


class Mica(_Frozen):
    """``exchange.yaml`` ``mica``: the CASP's MiCA status (Art. 143(3) transitional measures)."""

    authorisation: MicaAuthorisation = MicaAuthorisation.AUTHORISED
    member_state: str | None = Field(default=None, pattern="^[A-Z]{2}$")
    transitional_until: dt.date | None = None
    """The end of the transitional period the member state chose, when shorter than Art. 143(3)'s."""
    transitional_source: str | None = None
    """The national measure that set ``transitional_until`` (required with it)."""

    @model_validator(mode="after")
    def _source_with_date(self) -> Mica:
        if self.transitional_until is not None and not self.transitional_source:
            msg = "transitional_until needs transitional_source (the national measure that set it)"
            raise ValueError(msg)
        return self


class Exchange(_Frozen):
    """``exchange.yaml``: who the exchange is, where, and the snapshot's date."""

    id: str = Field(min_length=1)
    name: str = Field(min_length=1)
    jurisdiction: Jurisdiction
    licences: tuple[Licence, ...] = ()
    reporting_currency: Currency
    as_of: dt.datetime
    financials: dict[str, Decimal] = Field(default_factory=dict)
    """Figures from the accounts, e.g. ``fixed_overheads_prev_year``, ``projected_fixed_overheads``,
    ``own_funds`` (in the reporting currency). A regime that needs one and finds none says so."""
    market: Market | None = None
    """Korea: ``krw`` for a KRW-market exchange, ``coin`` or ``custody`` otherwise (VAUPA floors)."""
    fx_rates: tuple[FxRateEntry, ...] = ()
    """Exchange rates the snapshot supplies (caspr never invents one)."""
    mica: Mica = Field(default_factory=Mica)

    @field_validator("as_of", mode="before")
    @classmethod
    def _date_is_midnight_utc(cls, value: object) -> object:
        if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
            return dt.datetime(value.year, value.month, value.day, tzinfo=dt.UTC)
        return value

    @field_validator("as_of")
    @classmethod
    def _aware(cls, value: dt.datetime) -> dt.datetime:
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value

    @property
    def as_of_date(self) -> dt.date:
        """The calendar date of ``as_of`` (the record date)."""
        return self.as_of.date()


class InsurancePolicy(_Frozen):
    """One policy of ``insurance.yaml``."""

    id: str = Field(min_length=1)
    insurer: str
    rating: str | None = None
    limit: Decimal = Field(ge=0)
    retention: Decimal = Field(default=Decimal(0), ge=0)
    basis: Basis
    covers: tuple[Cover, ...]
    starts: dt.date
    expires: dt.date
    currency: Currency
    cancellation_notice_days: int | None = Field(default=None, ge=0)
    insurer_affiliated: bool | None = None
    """True when the insurer belongs to the exchange's group (not a third party); missing
    means not stated, and a regime that asks for a third party does not count the policy."""


class ReserveDeposit(_Frozen):
    """One deposit of ``reserve.yaml``."""

    id: str = Field(min_length=1)
    form: DepositForm
    amount: Decimal = Field(ge=0)
    currency: Currency
    held_at: str
    maturity_days: int | None = Field(default=None, ge=0)
    """A fixed deposit's term in days (a calendar-month test needs ``placed`` and ``matures``)."""
    placed: dt.date | None = None
    """When a fixed deposit was placed (the start of its term)."""
    matures: dt.date | None = None
    """When a fixed deposit matures (the end of its term)."""
    on_trust: bool | None = None
    """Held on trust, segregated from the exchange's own assets; missing means not stated
    and never counts where a regime requires a trust."""


class BookedReserve(_Frozen):
    """The reserve as booked on the balance sheet (a liability-side reserve).

    Japan's securities reserve (金融商品取引責任準備金, FIEA Art. 46-5), on which the
    proposed crypto reserve is modelled, is accumulated through P&L and shown among
    liabilities; it need not be matched by earmarked assets. caspr shows it beside the
    assets set aside (``deposits``), never adds it to them.
    """

    amount: Decimal = Field(ge=0)
    currency: Currency
    as_of: dt.date
    """The balance-sheet date of the figure."""
    account: str = "crypto liability reserve (責任準備金)"


class InsuranceDoc(_Frozen):
    """``insurance.yaml``."""

    policies: tuple[InsurancePolicy, ...] = ()


class ReserveDoc(_Frozen):
    """``reserve.yaml``."""

    deposits: tuple[ReserveDeposit, ...] = ()
    booked: BookedReserve | None = None


class ColumnType(StrEnum):
    """How a table column is checked and typed."""

    TEXT = "text"
    AMOUNT = "amount"  # non-negative decimal at the asset's scale
    PRICE = "price"  # non-negative decimal
    SCALE = "scale"  # integer 0-18
    DATE = "date"
    ENUM = "enum"


@dataclass(frozen=True, slots=True)
class ColumnSpec:
    """A column of a snapshot table."""

    name: str
    type: ColumnType
    required: bool = True
    values: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class TableSpec:
    """A snapshot table: its file stem, columns, and unique key."""

    name: str
    columns: tuple[ColumnSpec, ...]
    key: tuple[str, ...]
    required: bool = True

    def column(self, name: str) -> ColumnSpec:
        """The spec of column ``name``."""
        return next(c for c in self.columns if c.name == name)


def _enum(name: str, enum: type[StrEnum], required: bool = True) -> ColumnSpec:
    return ColumnSpec(name, ColumnType.ENUM, required, tuple(e.value for e in enum))


ASSETS = TableSpec(
    "assets",
    (
        ColumnSpec("asset", ColumnType.TEXT),
        _enum("kind", AssetKind),
        ColumnSpec("scale", ColumnType.SCALE),
        ColumnSpec("price", ColumnType.PRICE),
    ),
    key=("asset",),
)
BALANCES = TableSpec(
    "balances",
    (
        ColumnSpec("account_id", ColumnType.TEXT),
        ColumnSpec("asset", ColumnType.TEXT),
        ColumnSpec("amount", ColumnType.AMOUNT),
    ),
    key=("account_id", "asset"),
)
ACCOUNTS = TableSpec(
    "accounts",
    (
        ColumnSpec("account_id", ColumnType.TEXT),
        _enum("kyc", Kyc),
        _enum("status", AccountStatus),
    ),
    key=("account_id",),
    required=False,
)
WALLETS = TableSpec(
    "wallets",
    (
        ColumnSpec("wallet_id", ColumnType.TEXT),
        ColumnSpec("asset", ColumnType.TEXT),
        _enum("storage", Storage),
        _enum("owner", Owner),
        ColumnSpec("amount", ColumnType.AMOUNT),
    ),
    key=("wallet_id",),
)
VOLUMES = TableSpec(
    "volumes",
    (
        ColumnSpec("date", ColumnType.DATE),
        _enum("category", VolumeCategory),
        ColumnSpec("asset", ColumnType.TEXT, required=False),
        ColumnSpec("notional", ColumnType.PRICE),
    ),
    key=("date", "category", "asset"),
)

PRICES = TableSpec(
    "prices",
    (
        ColumnSpec("date", ColumnType.DATE),
        ColumnSpec("asset", ColumnType.TEXT),
        ColumnSpec("price", ColumnType.PRICE),
    ),
    key=("date", "asset"),
    required=False,
)
"""Optional daily price history (reporting currency), e.g. for Korea's one-year average prices."""

TABLES: tuple[TableSpec, ...] = (ASSETS, BALANCES, ACCOUNTS, WALLETS, VOLUMES, PRICES)
DOCUMENTS: dict[str, type[_Frozen]] = {
    "exchange": Exchange,
    "insurance": InsuranceDoc,
    "reserve": ReserveDoc,
}
REQUIRED_DOCUMENTS = ("exchange",)
