"""bh-cbb: Bahrain CBB Rulebook CRA-8.1.8, cold storage computed per crypto-asset (custody view only).

Used by ``caspr custody`` to show the per-asset method; no reserve requirement.
"""

from __future__ import annotations

from pathlib import Path

from caspr.params import ParameterView
from caspr.rules.regime import Context, Finding, Severity, ratio_text

PARAMETERS_DIR = Path(__file__).parent / "parameters"


def per_asset_cold(ctx: Context, params: ParameterView) -> list[Finding]:
    """CRA-8.1.8: for every crypto-asset, cold ≥ 90% of client holdings of that asset."""
    minimum = params("min_cold_share_per_asset")
    findings = []
    for a in ctx.exposure.crypto():
        held = a.customer_hot + a.customer_cold + a.customer_custodian
        if held == 0:
            continue
        cold = a.customer_cold + a.customer_custodian
        if cold < held * minimum.value:
            findings.append(
                Finding(
                    "bh.cbb.cra-8.1.8",
                    Severity.WARNING,
                    f"{a.asset}: {ratio_text(cold / held * 100, 4)}% cold "
                    f"(per-asset minimum {ratio_text(minimum.value * 100, 2)}%)",
                    minimum.citation,
                )
            )
    return findings
