"""Schemathesis drives every operation of the published OpenAPI document: no 5xx, ever."""

from __future__ import annotations

import tempfile
from pathlib import Path

import schemathesis
from hypothesis import HealthCheck, settings

from caspr.api.app import Settings, create_app
from tests.api.conftest import make_key
from tests.conftest import write_snapshot

_FOLDER = Path(tempfile.mkdtemp(prefix="caspr-schemathesis-"))
_URL = f"sqlite:///{_FOLDER / 'caspr.sqlite'}"
APP = create_app(_URL, Settings(data_root=_FOLDER))
KEYS = {
    role: make_key(
        _URL, role, None if role == "regulator" else "tiny-jp", "A1" if role == "customer" else None
    )
    for role in ("exchange", "regulator", "customer")
}
SNAPSHOT = write_snapshot(_FOLDER / "tiny-jp" / "tiny")
schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", APP)


@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_server_errors(case):
    for role, key in KEYS.items():
        response = case.call(headers={"Authorization": f"Bearer {key}", "Idempotency-Key": f"st-{role}"})
        assert response.status_code < 500, (role, case.method, case.path, response.text)
