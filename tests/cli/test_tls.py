"""The self-signed certificate of a first run: made once, for this machine's names, its key private."""

from __future__ import annotations

import ipaddress
import socket
import stat
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from services.cli.tls import ensure_certificate


def test_a_certificate_for_localhost_and_this_host_with_a_private_p256_key(tmp_path: Path) -> None:
    cert_file, key_file = tmp_path / "tls" / "cert.pem", tmp_path / "keys" / "key.pem"
    assert ensure_certificate(cert_file, key_file) is True
    cert = x509.load_pem_x509_certificate(cert_file.read_bytes())
    key = load_pem_private_key(key_file.read_bytes(), password=None)
    assert isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.name == "secp256r1"
    assert cert.public_key() == key.public_key()
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert {"localhost", socket.gethostname()} <= set(names.get_values_for_type(x509.DNSName))
    ips = set(names.get_values_for_type(x509.IPAddress))
    assert {ipaddress.ip_address("127.0.0.1"), ipaddress.ip_address("::1")} <= ips
    assert cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is False
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    lifetime = cert.not_valid_after_utc - cert.not_valid_before_utc
    assert lifetime.days <= 825, "browsers refuse a server certificate valid for longer"


def test_an_existing_pair_is_kept_and_a_missing_half_makes_a_new_one(tmp_path: Path) -> None:
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    ensure_certificate(cert_file, key_file)
    first = cert_file.read_bytes()
    assert ensure_certificate(cert_file, key_file) is False
    assert cert_file.read_bytes() == first
    key_file.unlink()
    assert ensure_certificate(cert_file, key_file) is True
    assert cert_file.read_bytes() != first and key_file.exists()
