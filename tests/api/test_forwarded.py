"""A forged X-Forwarded-For must not move a caller out of the bad-key lockout.

Found by an attacker run against `caspr serve`: uvicorn believes X-Forwarded-For from
127.0.0.1 by default, so a local process could try unlimited keys by naming a new address
in each request. `caspr serve` now believes the header only from `--trusted-proxies`.
"""

from __future__ import annotations

import socket

import httpx

from caspr.store import make_engine, upgrade
from tests.api.test_restart import serve


def test_forged_forwarded_for_does_not_escape_the_lockout(tmp_path):
    url = f"sqlite:///{tmp_path / 'caspr.sqlite'}"
    upgrade(make_engine(url))
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = serve(url, port, tmp_path)
    try:
        codes = [
            httpx.get(
                f"http://127.0.0.1:{port}/api/v1/exchanges",
                headers={"Authorization": f"Bearer bad-key-{n}", "X-Forwarded-For": f"203.0.113.{n}"},
                timeout=10,
            ).status_code
            for n in range(15)
        ]
    finally:
        server.terminate()
        server.wait(timeout=30)
    # ten unknown keys from one address, then the lockout (429), whatever the header claims
    assert codes[:10] == [401] * 10
    assert 429 in codes[10:], codes
