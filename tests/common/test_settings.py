"""Settings from WMI_* variables, and the paths derived from the data dir."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from services.common.settings import Settings


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """An environment without the caller's own WMI_* variables."""
    import os

    for name in [n for n in os.environ if n.startswith("WMI_")]:
        monkeypatch.delenv(name)
    return monkeypatch


def test_each_setting_comes_from_its_wmi_variable(clean_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    clean_env.setenv("WMI_DATA_DIR", str(tmp_path))
    clean_env.setenv("WMI_HOST_NAME", "h1")
    clean_env.setenv("WMI_SSE_QUEUE_SIZE", "8")
    clean_env.setenv("WMI_HEARTBEAT_TTL", "0.5")
    clean_env.setenv("WMI_ACCESS_LOG", "true")
    clean_env.setenv("WMI_ADMIN_PASSWORD", "s3cret-value")
    clean_env.setenv("WMI_NOT_A_SETTING", "ignored")
    settings = Settings()
    assert (settings.data_dir, settings.host_name, settings.sse_queue_size) == (tmp_path, "h1", 8)
    assert settings.heartbeat_ttl == 0.5 and settings.access_log is True
    assert (
        settings.admin_password is not None and settings.admin_password.get_secret_value() == "s3cret-value"
    )
    assert "s3cret-value" not in repr(settings), "a secret is not shown by the settings' repr"


def test_a_value_of_the_wrong_kind_is_refused(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("WMI_SERVER", "gunicorn")
    with pytest.raises(ValidationError, match="server"):
        Settings()
    clean_env.setenv("WMI_SERVER", "uvicorn")
    clean_env.setenv("WMI_PORT", "many")
    with pytest.raises(ValidationError, match="port"):
        Settings()


def test_everything_lives_under_the_data_dir_unless_told_otherwise(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "var" / ".." / "var")
    var = (tmp_path / "var").resolve()
    assert settings.resolved_data_dir == var
    assert settings.resolved_sysroot == var / "sysroot"
    assert settings.resolved_redis_url == f"unix://{var / 'redis.sock'}"
    assert settings.resolved_database_url == f"sqlite:///{var / 'wmi2.db'}"
    assert (settings.cert_file, settings.key_file) == (var / "tls" / "cert.pem", var / "tls" / "key.pem")
    assert settings.archive_dir == var / "archives"


def test_given_places_win_over_the_data_dir(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, sysroot=tmp_path / "root", redis_url="redis://r:6379/1",
                        database_url="postgresql+psycopg://db/wmi", tls_cert=tmp_path / "c.pem",
                        tls_key=tmp_path / "k.pem")  # fmt: skip
    assert settings.resolved_sysroot == (tmp_path / "root").resolve()
    assert settings.resolved_redis_url == "redis://r:6379/1"
    assert settings.resolved_database_url == "postgresql+psycopg://db/wmi"
    assert (settings.cert_file, settings.key_file) == (tmp_path / "c.pem", tmp_path / "k.pem")
