"""Schemathesis drives every operation of the published OpenAPI document on SQLite and PostgreSQL:
no 5xx, ever. Every call carries a fresh Idempotency-Key, so each POST reaches its handler (one key
per role made every later POST a replay or a 409 and left the handlers untested)."""

from __future__ import annotations

import uuid

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from caspr.api.app import create_app
from tests.api.conftest import make_key, release
from tests.api.conftest import settings as service_settings
from tests.conftest import write_snapshot

ROLES = ("exchange", "administrator", "regulator", "customer")


@pytest.fixture
def served(database, tmp_path):
    """The app on ``database`` with one registered snapshot and a key per role."""
    write_snapshot(tmp_path / "tiny-jp" / "tiny")
    app = create_app(database, service_settings(tmp_path))
    keys = {
        role: make_key(
            database, role, None if role == "regulator" else "tiny-jp", "A1" if role == "customer" else None
        )
        for role in ROLES
    }
    yield app, keys, tmp_path
    release(app)


def test_no_server_errors(served):
    app, keys, root = served
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", app)
    calls = 0
    statuses: set[int] = set()
    for result in schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy())
        @settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
        def no_5xx(case):
            nonlocal calls
            if case.path.endswith("/snapshots") and case.method == "POST" and isinstance(case.body, dict):
                case.body = {**case.body, "path": str(root / "tiny-jp" / "tiny")}
            for role, key in keys.items():
                response = case.call(
                    headers={"Authorization": f"Bearer {key}", "Idempotency-Key": uuid.uuid4().hex}
                )
                calls += 1
                statuses.add(response.status_code)
                assert response.status_code < 500, (role, case.method, case.path, response.text)

        no_5xx()
    assert calls > 100
    assert {200, 201} <= statuses  # fresh keys: POSTs reached their handlers and did the work
