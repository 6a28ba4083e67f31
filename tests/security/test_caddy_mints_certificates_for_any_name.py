"""Finding 10: the proxy minted a certificate for any name a client sent.

The attack: ``tls internal { on_demand }`` without ``ask`` issued, and stored in the
caddy-data volume, a certificate for whatever server name a TLS client sent: anyone who
could reach the port could make it mint and store certificates without end (15 random
names, 15 certificates), filling the disk and the authority's log.

The fix: deploy/Caddyfile issues certificates for the configured names alone
(PROXY_SERVER_NAME and PROXY_EXTRA_NAMES) and never on demand; another name fails its
handshake, a client without a name gets PROXY_SERVER_NAME's certificate.
"""

from __future__ import annotations

import secrets
import ssl
from pathlib import Path

import pytest

from tests.e2e.test_compose import _certificate, _proxy, _upstreams
from tests.support.wait import wait_for


def _issued(tmp_path: Path) -> set[str]:
    return {path.parent.name for path in (tmp_path / "caddy-data").rglob("certificates/*/*/*.crt")}


def test_only_configured_names_get_certificates(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PROXY_SERVER_NAME", "wmi.example.test")
    monkeypatch.setenv("PROXY_EXTRA_NAMES", "other.example.test, 127.0.0.1")
    configured = {"wmi.example.test", "other.example.test", "127.0.0.1"}
    with (
        _upstreams() as (api, events),
        _proxy(tmp_path, api.server_address[1], events.server_address[1]) as url,
    ):
        port = int(url.rsplit(":", 1)[1])
        wait_for(lambda: _issued(tmp_path) == configured, timeout=60, what="configured names' certificates")
        for _ in range(15):
            with pytest.raises((ssl.SSLError, ConnectionError)):
                _certificate("127.0.0.1", port, f"{secrets.token_hex(6)}.example.test")
        # Those that are configured are still served.
        assert _certificate("127.0.0.1", port, "other.example.test")
        assert _certificate("127.0.0.1", port, None)
    assert _issued(tmp_path) == configured
