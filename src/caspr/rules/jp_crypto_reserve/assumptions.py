"""Our explicit modelling choices for the proposed Japanese reserve (not law).

* Which deposits count: money set aside in trust, deposits, short fixed deposits,
  escrow and government bonds. A bank guarantee is a promise, not an accumulated
  reserve (準備金), so it does not count unless a reform says otherwise.
* Which policies count: in force at ``as_of``, from a third-party insurer, covering an
  outflow risk (hot, cold, cyber, third-party wallet vendor, insider).
* Incident experience: ``financials.incident_losses_3y`` in exchange.yaml (JPY), zero
  when absent.
* Dating: the proposed values are dated from the WG report (2025-12-10) so that impact
  studies run on current snapshots; they carry status ``proposed`` everywhere.
"""

from __future__ import annotations

from caspr.reserve import PolicyConditions
from caspr.snapshot.schema import Cover, DepositForm

ELIGIBLE_FORMS = frozenset(
    {
        DepositForm.CASH_TRUST,
        DepositForm.DEPOSIT,
        DepositForm.FIXED_DEPOSIT,
        DepositForm.ESCROW,
        DepositForm.GOVERNMENT_BONDS,
    }
)
POLICY_CONDITIONS = PolicyConditions(
    risks=frozenset({Cover.HOT, Cover.COLD, Cover.CYBER, Cover.THIRD_PARTY_VENDOR, Cover.INSIDER}),
    third_party=True,
)
RATED_CATEGORIES = frozenset({"spot", "margin", "derivative"})
INCIDENT_LOSSES_KEY = "incident_losses_3y"
