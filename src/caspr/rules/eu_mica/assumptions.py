"""Our explicit modelling choices for MiCA (not law; each says why).

* Art. 67(6) lists seven risks an eligible policy covers. (a)-(e) apply to every CASP.
  (f), gross negligence in safeguarding clients' crypto-assets and funds, applies "where
  applicable": we require it whenever the CASP holds clients' crypto-assets or funds
  (a custody licence, or any customer wallet or liability in the snapshot). (g), the
  liability towards clients under Art. 75(8), arises from custody and administration:
  we require it with a custody licence or when the snapshot shows customer crypto held.
  A policy that only says ``professional_liability`` does not show which risks it covers,
  so it does not count (the conservative reading).
* Financial figures are read from ``exchange.yaml`` ``financials`` under the keys named in
  :mod:`caspr.rules.eu_mica`; a missing figure is never taken as zero.
* Art. 143(3): a snapshot is taken as authorised under MiCA unless ``mica.authorisation``
  says ``transitional`` (the conservative reading: Art. 67 applies in full).
"""

from __future__ import annotations

from caspr.rules.regime import Context
from caspr.snapshot.schema import Cover, Licence

ALWAYS = frozenset(
    {
        Cover.LOSS_OF_DOCUMENTS,
        Cover.MISREPRESENTATION,
        Cover.BREACH_OF_DUTIES,
        Cover.CONFLICTS_OF_INTEREST,
        Cover.BUSINESS_DISRUPTION,
    }
)
"""MiCA 67(6)(a)-(e)."""


def holds_client_assets(ctx: Context) -> bool:
    """Whether the CASP safeguards clients' crypto-assets or funds (custody licence or customer holdings)."""
    if Licence.CUSTODY in ctx.snapshot.exchange.licences:
        return True
    return any(a.customer_held > 0 or a.liabilities > 0 for a in ctx.exposure.assets)


def holds_client_crypto(ctx: Context) -> bool:
    """Whether Art. 75(8) liability can arise: a custody licence or customer crypto held."""
    if Licence.CUSTODY in ctx.snapshot.exchange.licences:
        return True
    return any(a.customer_hot + a.customer_cold + a.customer_custodian > 0 for a in ctx.exposure.crypto())


def covers_required(ctx: Context) -> frozenset[Cover]:
    """The Art. 67(6) risks an eligible policy must cover for this CASP."""
    required = set(ALWAYS)
    if holds_client_assets(ctx):
        required.add(Cover.SAFEGUARDING_NEGLIGENCE)
    if holds_client_crypto(ctx):
        required.add(Cover.CUSTODY_LIABILITY)
    return frozenset(required)
