"""The compose deployment, tested for what can run without a container engine.

No Docker engine runs on this machine (the docker CLI exists, with no daemon to talk to), so
no container is started: that is the one thing these tests stand in for. Everything else is
real. Debian's ``docker-compose`` validates the files against the Compose specification and
resolves them (interpolation, anchors, the host override); the resolved services are checked
against WMI2 itself (its ``wmi2`` commands, its settings, its health routes); ``caddy`` (the
proxy's own program, Debian's build) validates the Caddyfile and then serves it; and the
compose stack's own commands, environment and healthchecks run here as processes: ``init``
against PostgreSQL, then api and events behind the proxy, as the containers would.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
import yaml
from cryptography import x509

from services.cli.main import parser
from services.cli.origin import EVENTS_PREFIX
from services.common.events import Publisher
from services.common.settings import Settings
from tests.support.ports import free_port
from tests.support.postgres import fresh_database, server_url
from tests.support.processes import ROOT, Service
from tests.support.wait import wait_for

COMPOSE = ROOT / "docker-compose.yml"
HOST_OVERRIDE = ROOT / "docker-compose.host.yml"
CADDYFILE = ROOT / "deploy" / "Caddyfile"
DOCKERFILE = ROOT / "Dockerfile"
# A password no one would choose: the tests look for where it ends up.
SENTINEL = "sentinel-pg-pass-9f3e"
REDIS_SENTINEL = "sentinel-redis-pass-41d7"
PASSWORDS = {"POSTGRES_PASSWORD": SENTINEL, "REDIS_PASSWORD": REDIS_SENTINEL}
WMI2_SERVICES = {"init": "prepare", "api": "api", "events": "events", "worker": "worker"}
LONG_RUNNING = ("redis", "postgres", "api", "events", "worker", "proxy")


def _need(program: str) -> str:
    path = shutil.which(program)
    if path is None:
        pytest.fail(f"{program} is not installed: `make setup-test` installs it (the Makefile's TEST_DEBS)",
                    pytrace=False)  # fmt: skip
    return path


def _compose(tmp_path: Path, *files: Path, env: dict[str, str] | None = None, quiet: bool = False) -> str:
    """``docker-compose -f ... config``: validated against the Compose spec, then resolved."""
    # An empty env file: a developer's own .env must not change what is tested.
    env_file = tmp_path / "empty.env"
    env_file.touch()
    argv = [_need("docker-compose"), "--env-file", str(env_file), "--project-directory", str(ROOT)]
    for f in files:
        argv += ["-f", str(f)]
    argv += ["config", "-q"] if quiet else ["config"]
    ours = ("WMI_", "POSTGRES_", "PROXY_", "REDIS_")
    clean = {k: v for k, v in os.environ.items() if not k.startswith(ours)}
    result = subprocess.run(argv, env={**clean, **(env or {})}, capture_output=True, text=True, cwd=ROOT)
    if result.returncode != 0:
        raise AssertionError(f"docker-compose config failed:\n{result.stderr}")
    return result.stdout


def _resolved(tmp_path: Path, *files: Path, **env: str) -> dict[str, Any]:
    config: dict[str, Any] = yaml.safe_load(_compose(tmp_path, *files, env={**PASSWORDS, **env}))
    return config


@pytest.fixture(scope="module")
def services(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """docker-compose.yml's services as compose resolves them (read-only: tests must not change it)."""
    svc: dict[str, Any] = _resolved(tmp_path_factory.mktemp("compose"), COMPOSE)["services"]
    return svc


def _mounts(svc: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(kind, source, target) of a service's volumes, from the short or the long syntax."""
    found = []
    for v in svc.get("volumes", []):
        if isinstance(v, dict):
            found.append((v["type"], v["source"], v["target"]))
        else:
            source, target = v.split(":")[:2]
            found.append(("bind" if source.startswith(("/", ".")) else "volume", source, target))
    return found


def _caddy_routes() -> dict[str | None, str]:
    """The Caddyfile's reverse_proxy upstreams (with their defaults), by the matcher they serve.

    ``{"@events": "events:8001", None: "api:8000"}``: None is the catch-all ``handle``.
    """
    routes: dict[str | None, str] = {}
    matcher: str | None = None
    for line in CADDYFILE.read_text().splitlines():
        words = line.split()
        if words[:1] == ["handle"]:
            matcher = words[1] if len(words) > 2 else None
        elif words[:1] == ["reverse_proxy"]:
            routes[matcher] = _default(words[1])
    return routes


def _default(token: str) -> str:
    """``{$VAR:default}`` → ``default``, as Caddy reads it when VAR is unset."""
    match = re.fullmatch(r"\{\$[A-Z_]+:(.+)\}", token)
    return match.group(1) if match else token


def _matcher_paths(name: str) -> list[str]:
    for line in CADDYFILE.read_text().splitlines():
        words = line.split()
        if words[:2] == [name, "path"]:
            return words[2:]
    raise AssertionError(f"no matcher {name} in the Caddyfile")


# -- the files are valid compose ---------------------------------------------------------------


def test_compose_files_are_valid(tmp_path: Path) -> None:
    env = {**PASSWORDS, "WMI_HOST_NAME": "myhost"}
    _compose(tmp_path, COMPOSE, env=env, quiet=True)
    _compose(tmp_path, COMPOSE, HOST_OVERRIDE, env=env, quiet=True)


def test_a_missing_password_stops_compose_with_a_clear_message(tmp_path: Path) -> None:
    for name in PASSWORDS:
        others = {k: v for k, v in PASSWORDS.items() if k != name}
        with pytest.raises(AssertionError, match=rf"{name}.*set it in \.env"):
            _compose(tmp_path, COMPOSE, env=others, quiet=True)
    # The host override also insists on the name of the host it manages.
    with pytest.raises(AssertionError, match="WMI_HOST_NAME"):
        _compose(tmp_path, COMPOSE, HOST_OVERRIDE, env=PASSWORDS, quiet=True)


# -- the services match WMI2 --------------------------------------------------------------------


def test_each_wmi2_service_runs_a_real_wmi2_command(services: dict[str, Any]) -> None:
    for name, subcommand in WMI2_SERVICES.items():
        command = services[name]["command"]
        assert command[0] == "wmi2", name
        try:
            args = parser().parse_args(command[1:])
        except SystemExit as exc:
            raise AssertionError(f"{name}: `{' '.join(command)}` is not a wmi2 command") from exc
        assert args.command == subcommand, name
        assert services[name]["image"] == services["api"]["image"], "one image for every WMI2 service"


def test_the_proxy_routes_to_the_ports_the_services_listen_on(services: dict[str, Any]) -> None:
    routes = _caddy_routes()
    ports = {name: parser().parse_args(services[name]["command"][1:]).port for name in ("api", "events")}
    assert routes == {"@events": f"events:{ports['events']}", None: f"api:{ports['api']}"}
    # The same split as `wmi2 web` (services/cli/origin.py), so one-machine and compose agree.
    assert _matcher_paths("@events") == [EVENTS_PREFIX, EVENTS_PREFIX + "/*"]
    assert "flush_interval -1" in CADDYFILE.read_text()
    # Nothing but the proxy is published; it listens where the Caddyfile says.
    published = {name for name, svc in services.items() if svc.get("ports")}
    assert published == {"proxy"}
    site = next(line.split() for line in CADDYFILE.read_text().splitlines() if line.endswith(" {") and
                any(word.startswith(":") for word in line.split()))  # fmt: skip
    catch_all = next(word for word in site if word.startswith(":"))
    assert _default(catch_all[1:]) == "3356"
    assert {p["target"] for p in services["proxy"]["ports"]} == {3356}
    assert {p["published"] for p in services["proxy"]["ports"]} in ({3356}, {"3356"})
    mounts = {target: source for _kind, source, target in _mounts(services["proxy"])}
    assert Path(mounts["/etc/caddy/Caddyfile"]) == CADDYFILE


def test_environment_names_are_wmi2_settings(services: dict[str, Any]) -> None:
    fields = Settings.model_fields
    for name in WMI2_SERVICES:
        for key in services[name]["environment"]:
            assert key.startswith("WMI_") and key[4:].lower() in fields, f"{name}: {key} is no WMI2 setting"
        # api, events and worker must name the same host: the worker's queue and read model.
        assert (
            services[name]["environment"]["WMI_HOST_NAME"]
            == services["worker"]["environment"]["WMI_HOST_NAME"]
        )
    for key in services["proxy"]["environment"]:
        assert "{$" + key in CADDYFILE.read_text(), f"proxy: {key} is not read by the Caddyfile"
    # The defaults that compose writes out are the settings' own defaults (but the host's name:
    # the sandbox is called "sandbox", where a container's own hostname would be random).
    for variable, default in re.findall(r"\$\{(WMI_[A-Z_]+):-([^}]*)\}", COMPOSE.read_text()):
        if variable == "WMI_HOST_NAME":
            continue
        field = fields[variable[4:].lower()]
        if default and field.default is not None:
            assert default.lower() == str(field.default).lower(), f"{variable}: {default} vs {field.default}"


def test_healthchecks_and_start_order(services: dict[str, Any]) -> None:
    for name in ("redis", "postgres", "api", "events"):
        assert services[name]["healthcheck"]["test"], f"{name} has no healthcheck"
    for name, svc in services.items():
        for dependency, how in svc.get("depends_on", {}).items():
            condition = how["condition"]
            if condition == "service_healthy":
                assert "healthcheck" in services[dependency], f"{name} waits for {dependency}'s health"
            else:
                assert condition == "service_completed_successfully", f"{name} → {dependency}: {condition}"
                assert services[dependency]["restart"] == "no", f"{dependency} is one-shot"
    assert services["proxy"]["depends_on"] == {
        "api": {"condition": "service_healthy"},
        "events": {"condition": "service_healthy"},
    }
    for name in ("api", "events", "worker"):
        assert services[name]["depends_on"]["init"] == {"condition": "service_completed_successfully"}
    assert services["init"]["depends_on"]["postgres"] == {"condition": "service_healthy"}
    for name in LONG_RUNNING:
        assert services[name]["restart"] == "unless-stopped", name
    for name in ("api", "events"):
        code = services[name]["healthcheck"]["test"][-1]
        compile(code, f"{name} healthcheck", "exec")


def test_the_worker_has_its_sandbox_to_itself(services: dict[str, Any]) -> None:
    def volumes(name: str) -> set[str]:
        return {source for kind, source, _target in _mounts(services[name]) if kind == "volume"}

    worker = volumes("worker")
    assert worker
    for name in services:
        if name not in ("worker", "init"):
            assert not worker & volumes(name), f"{name} shares the worker's volume"
    assert services["worker"]["user"] == services["init"]["user"] == "root"
    # The web services keep the image's unprivileged user.
    assert "user" not in services["api"] and "user" not in services["events"]
    assert re.search(r"^USER wmi2$", DOCKERFILE.read_text(), re.M)


def test_the_host_override_mounts_directories_as_the_sysroot(tmp_path: Path) -> None:
    services = _resolved(tmp_path, COMPOSE, HOST_OVERRIDE, WMI_HOST_NAME="myhost")["services"]
    worker = services["worker"]
    sysroot = Path(worker["environment"]["WMI_SYSROOT"])
    binds = {Path(target): Path(source) for kind, source, target in _mounts(worker) if kind == "bind"}
    # Whole directories (the shadow tools replace files by rename), at SYSROOT/etc and SYSROOT/home.
    assert binds == {sysroot / "etc": Path("/etc"), sysroot / "home": Path("/home")}
    assert Path("/etc").is_dir()
    assert services["init"]["environment"]["WMI_SYSROOT"] == str(sysroot), "init makes no sandbox"
    for name in WMI2_SERVICES:
        assert services[name]["environment"]["WMI_HOST_NAME"] == "myhost", name


# -- no secret in the files or the image ---------------------------------------------------------

SECRET_NAME = re.compile(r"PASSWORD|SECRET|TOKEN|_KEY\b", re.I)


def test_no_secret_is_written_in_the_compose_files_or_the_dockerfile() -> None:
    for path in (COMPOSE, HOST_OVERRIDE):
        raw = yaml.safe_load(path.read_text())
        for svc in raw["services"].values():
            env = svc.get("environment") or {}
            for key, value in env.items():
                text = str(value)
                if SECRET_NAME.search(key) and text:
                    assert re.fullmatch(r"\$\{[A-Z_]+(:[-?][^}]*)?\}", text), f"{path.name}: {key}={text}"
                # Credentials inside a URL come from the environment too.
                literal = re.sub(r"\$\{[^}]*\}", "${}", text)
                for password in re.findall(r"://[^:/@\s]+:([^@\s]+)@", literal):
                    assert password == "${}", f"{path.name}: {key} holds a password"
    dockerfile = DOCKERFILE.read_text()
    for line in dockerfile.splitlines():
        if line.startswith(("ENV", "ARG")) or line.startswith(" "):
            assert not SECRET_NAME.search(line), f"Dockerfile: {line}"
    assert not re.search(r"://[^:/@\s]+:[^@\s]+@", dockerfile)
    assert "COPY . " not in dockerfile, "the image copies only what it needs, never a .env"


def test_the_database_password_reaches_only_the_database_and_its_clients(services: dict[str, Any]) -> None:
    for name, svc in services.items():
        where = [k for k, v in (svc.get("environment") or {}).items() if SENTINEL in str(v)]
        expected = {"postgres": ["POSTGRES_PASSWORD"]}.get(
            name, ["WMI_DATABASE_URL"] if name in WMI2_SERVICES else []
        )
        assert where == expected, name
        assert SENTINEL not in str(svc.get("command", "")), name


def test_the_redis_password_reaches_only_redis_and_its_clients(services: dict[str, Any]) -> None:
    """Finding 11: Redis, the broker and the sessions' store, took commands from anyone on its network."""
    for name, svc in services.items():
        where = [k for k, v in (svc.get("environment") or {}).items() if REDIS_SENTINEL in str(v)]
        expected = {"redis": ["REDIS_PASSWORD"]}.get(name, ["WMI_REDIS_URL"] if name in WMI2_SERVICES else [])
        assert where == expected, name
        # An argv is readable by every user of the machine (ps): the password never is one.
        assert REDIS_SENTINEL not in str(svc.get("command", "")), name
        assert REDIS_SENTINEL not in str(svc.get("healthcheck", "")), name
    for name in WMI2_SERVICES:
        assert services[name]["environment"]["WMI_REDIS_URL"] == f"redis://wmi2:{REDIS_SENTINEL}@redis:6379/0"


def test_only_init_is_given_the_first_admins_password(services: dict[str, Any]) -> None:
    """Finding 16: the first admin's password is `prepare`'s alone, not the long-running services'."""
    given = [name for name, svc in services.items() if "WMI_ADMIN_PASSWORD" in (svc.get("environment") or {})]
    assert given == ["init"]


def test_dockerignore_keeps_the_virtualenv_data_and_history_out() -> None:
    ignored = {line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()}
    assert {".venv", "var", ".git", ".env"} <= ignored


def test_the_image_installs_wmi2_as_make_setup_does() -> None:
    dockerfile = DOCKERFILE.read_text()
    assert dockerfile.count("FROM python:3.11-slim-bookworm") == 2
    assert "pip install -c constraints.txt ." in dockerfile
    assert re.search(r"apt-get install -y --no-install-recommends passwd tar", dockerfile)


# -- the proxy, for real --------------------------------------------------------------------------


def test_caddy_validates_the_caddyfile(tmp_path: Path) -> None:
    result = subprocess.run(
        [_need("caddy"), "validate", "--config", str(CADDYFILE), "--adapter", "caddyfile"],
        env=_caddy_env(tmp_path, {}), capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "Valid configuration" in result.stdout + result.stderr
    assert "not formatted" not in result.stderr, "run: caddy fmt --overwrite deploy/Caddyfile"


def _caddy_env(tmp_path: Path, extra: dict[str, str]) -> dict[str, str]:
    # Caddy keeps its authority and certificates under XDG_DATA_HOME: here, not in ~root.
    return dict(os.environ, HOME=str(tmp_path), XDG_DATA_HOME=str(tmp_path / "caddy-data"),
                XDG_CONFIG_HOME=str(tmp_path / "caddy-config"), PROXY_ADMIN="off", **extra)  # fmt: skip


@contextmanager
def _proxy(tmp_path: Path, api: int, events: int) -> Iterator[str]:
    """Caddy serving the real Caddyfile on a free port, its upstreams on this machine."""
    port = free_port()
    env = _caddy_env(tmp_path, {"PROXY_PORT": str(port), "API_UPSTREAM": f"127.0.0.1:{api}",
                                "EVENTS_UPSTREAM": f"127.0.0.1:{events}"})  # fmt: skip
    log = tmp_path / "caddy.log"
    with log.open("wb") as out:
        argv = [_need("caddy"), "run", "--config", str(CADDYFILE), "--adapter", "caddyfile"]
        proc = subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:

        def serving() -> bool:
            # A handshake, not an open port: Caddy listens before its internal authority has
            # issued the certificate, and a client that came in between got a TLS alert.
            if proc.poll() is not None:
                pytest.fail("caddy exited:\n" + log.read_text(), pytrace=False)
            return _certificate("127.0.0.1", port, None) is not None

        wait_for(serving, timeout=30, what="caddy to serve TLS")
        yield f"https://127.0.0.1:{port}"
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            raise AssertionError("caddy did not stop on SIGTERM:\n" + log.read_text()) from None


class _Upstream(BaseHTTPRequestHandler):
    """Stands in for api or events: says who it is, what it got, and streams on /events."""

    protocol_version = "HTTP/1.1"
    server: _UpstreamServer

    def do_GET(self) -> None:
        if self.server.name == "events" and self.path == "/events":
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.end_headers()
            self.wfile.write(b"id: 1\ndata: first\n\n")
            self.wfile.flush()
            # Hold the stream open, a buffering proxy would deliver nothing until it ends, with
            # heartbeats as the events service sends them: they let Caddy see a client gone.
            while not self.server.release.wait(0.2):
                try:
                    self.wfile.write(b": heartbeat\n\n")
                    self.wfile.flush()
                except OSError:
                    return
            return
        body = yaml.safe_dump(
            {"who": self.server.name, "path": self.path, "headers": dict(self.headers)}
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_args: Any) -> None:
        pass


class _UpstreamServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, name: str) -> None:
        super().__init__(("127.0.0.1", 0), _Upstream)
        self.name = name
        self.release = threading.Event()


@contextmanager
def _upstreams() -> Iterator[tuple[_UpstreamServer, _UpstreamServer]]:
    servers = (_UpstreamServer("api"), _UpstreamServer("events"))
    for server in servers:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield servers
    finally:
        for server in servers:
            server.release.set()
            server.shutdown()
            server.server_close()


def test_the_proxy_serves_one_https_origin_and_streams_unbuffered(tmp_path: Path) -> None:
    with (
        _upstreams() as (api, events),
        _proxy(tmp_path, api.server_address[1], events.server_address[1]) as url,
    ):
        with httpx.Client(base_url=url, verify=False, timeout=10) as client:
            seen = {path: yaml.safe_load(client.get(path).text) for path in
                    ("/", "/api/v1/health", "/events/health", "/eventsource", "/static/app.js")}  # fmt: skip
            assert {path: s["who"] for path, s in seen.items()} == {
                "/": "api", "/api/v1/health": "api", "/events/health": "events",
                "/eventsource": "api", "/static/app.js": "api",
            }  # fmt: skip
            # What uvicorn's proxy_headers reads to know the client and that it came over HTTPS.
            headers = seen["/"]["headers"]
            assert headers["X-Forwarded-Proto"] == "https"
            assert headers["X-Forwarded-For"] == "127.0.0.1"
            # The first event arrives while the upstream still holds the stream open.
            with client.stream("GET", "/events", timeout=httpx.Timeout(10, read=5)) as stream:
                assert stream.headers["content-type"].startswith("text/event-stream")
                lines = stream.iter_lines()
                assert [next(lines), next(lines)] == ["id: 1", "data: first"]
        # A certificate made by Caddy's own authority, for the configured name and for a bare
        # IP address (no SNI: the default name's certificate).
        port = int(url.rsplit(":", 1)[1])
        for sni, name in (("localhost", "localhost"), (None, "localhost")):
            cert = _certificate("127.0.0.1", port, sni)
            assert "Caddy Local Authority" in cert.issuer.rfc4514_string()
            names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
            assert name in names.get_values_for_type(x509.DNSName)


def _certificate(host: str, port: int, server_name: str | None) -> x509.Certificate:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with (
        socket.create_connection((host, port), timeout=10) as raw,
        context.wrap_socket(raw, server_hostname=server_name) as tls,
    ):
        der = tls.getpeercert(binary_form=True)
    assert der is not None
    return x509.load_der_x509_certificate(der)


# -- the stack's own commands, environment and healthchecks, as processes ----------------------


def _service_env(compose_env: dict[str, Any], overrides: dict[str, str]) -> dict[str, str]:
    """A service's environment as compose gives it, with this machine's stand-ins for redis and postgres."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("WMI_")}
    return {**base, **{k: str(v) for k, v in compose_env.items()}, **overrides}


def test_the_stack_runs_init_then_api_and_events_behind_the_proxy(
    services: dict[str, Any], tmp_path: Path, redis_url: str
) -> None:
    with fresh_database(server_url()) as database_url:
        overrides = {
            "WMI_DATABASE_URL": database_url,
            "WMI_REDIS_URL": redis_url,
            "WMI_DATA_DIR": str(tmp_path / "var"),
            "WMI_WEB_WORKERS": "1",
            # Frequent heartbeats let the proxy see a closed stream soon, and so stop at once.
            "WMI_SSE_HEARTBEAT": "0.5",
        }
        # init: `wmi2 prepare` makes the schema and the first admin, and prints its password.
        init = services["init"]
        env = _service_env(init["environment"], overrides)
        argv = [sys.executable, "-m", "services.cli", *init["command"][1:]]
        first = subprocess.run(argv, env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)
        assert first.returncode == 0, first.stderr
        found = re.search(r"login admin, password (\S+)", first.stdout)
        assert found, first.stdout
        password = found.group(1)

        ports = {"api": free_port(), "events": free_port()}
        running: list[Service] = []
        try:
            for name in ("api", "events"):
                svc = services[name]
                command = [*svc["command"][1:-1], str(ports[name])]  # the same, on a free port
                assert svc["command"][-2] == "--port"
                service = Service(
                    command, _service_env(svc["environment"], overrides), tmp_path / f"{name}.log"
                )
                service.start()
                running.append(service)
            for name, service in zip(("api", "events"), running, strict=True):
                # The compose healthcheck itself, pointed at the free port.
                compose_port = str(parser().parse_args(services[name]["command"][1:]).port)
                code = services[name]["healthcheck"]["test"][-1].replace(compose_port, str(ports[name]))

                def healthy(code: str = code, service: Service = service) -> bool:
                    if not service.alive():
                        pytest.fail(f"wmi2 {service.args[0]} exited:\n{service.output()}", pytrace=False)
                    return subprocess.run([sys.executable, "-c", code], capture_output=True).returncode == 0

                wait_for(healthy, timeout=90, what=f"the {name} healthcheck")
            with _proxy(tmp_path, ports["api"], ports["events"]) as url:
                _through_the_proxy(url, password, redis_url)
        finally:
            for service in running:
                service.stop()


def _through_the_proxy(url: str, password: str, redis_url: str) -> None:
    with httpx.Client(base_url=url, verify=False, timeout=30) as client:
        assert client.get("/api/v1/health").status_code == 200
        assert client.get("/events/health").status_code == 200
        session = client.post("/api/v1/session", json={"login": "admin", "password": password})
        assert session.status_code == 200, session.text
        published: set[str] = set()
        stop = threading.Event()

        def publish() -> None:
            # Again and again until one is seen: the stream may register a moment after its headers.
            client = redis.Redis.from_url(redis_url)
            try:
                while not stop.wait(0.3):
                    published.add(
                        Publisher(client, 1000).publish("host.online", "composehost", {"via": "proxy"})
                    )
            finally:
                client.close()

        with client.stream("GET", "/events", timeout=httpx.Timeout(30, read=10)) as stream:
            assert stream.status_code == 200
            assert stream.headers["content-type"].startswith("text/event-stream")
            publisher = threading.Thread(target=publish, daemon=True)
            publisher.start()
            try:
                # A read timeout here (10 s without a byte) is what a buffering proxy would cause.
                for line in stream.iter_lines():
                    if line.startswith("id: ") and line[4:] in published:
                        break
            finally:
                stop.set()
                publisher.join(5)
