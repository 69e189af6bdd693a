"""The regimes caspr knows, one package each; ``REGIMES`` maps id to regime."""

from __future__ import annotations

from caspr.rules import eu_mica, hk_sfc, jp_crypto_reserve, jp_custody, kr_vaupa
from caspr.rules.regime import Regime

REGIMES: dict[str, Regime] = {
    r.id: r
    for r in (jp_custody.REGIME, jp_crypto_reserve.REGIME, eu_mica.REGIME, hk_sfc.REGIME, kr_vaupa.REGIME)
}


def applicable(jurisdiction: str) -> list[Regime]:
    """The regimes that apply to an exchange licensed in ``jurisdiction``."""
    return [r for r in REGIMES.values() if jurisdiction in r.jurisdictions]
