"""``wmi2``: the command line."""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from pathlib import Path

from services.common.settings import get_settings

WORKER_ARGS = ["--pool", "prefork", "--concurrency", "1", "--without-gossip", "--without-mingle"]


def _cmd_up(_args: argparse.Namespace) -> int:
    from services.cli.up import up

    return up(get_settings())


def _cmd_prepare(_args: argparse.Namespace) -> int:
    from services.cli.up import prepare

    settings = get_settings()
    password = prepare(settings)
    if password:
        print(f"WMI2 first admin: login admin, password {password}", flush=True)
    else:
        print("WMI2 is prepared (its first admin exists already)", flush=True)
    return 0


def _cmd_migrate(_args: argparse.Namespace) -> int:
    from sqlalchemy.engine import make_url

    from services.common.db import init_db, schema_revision

    url = get_settings().resolved_database_url
    init_db(url)
    shown = make_url(url).render_as_string(hide_password=True)
    print(f"database {shown} is at schema revision {schema_revision(url)}", flush=True)
    return 0


def _cmd_web(args: argparse.Namespace) -> int:
    from services.cli.serve import serve

    settings = get_settings()
    serve("services.cli.origin:create_app", settings, args.port or settings.port, tls=True,
          workers=settings.web_workers)  # fmt: skip
    return 0


def _cmd_api(args: argparse.Namespace) -> int:
    from services.cli.serve import serve

    settings = get_settings()
    serve("services.api.main:create_app", settings, args.port, tls=args.tls, workers=settings.web_workers)
    return 0


def _cmd_events(args: argparse.Namespace) -> int:
    from services.cli.serve import serve

    serve("services.events.app:create_app", get_settings(), args.port, tls=args.tls, workers=1)
    return 0


def _cmd_worker(_args: argparse.Namespace) -> int:
    from services.common import keys

    settings = get_settings()
    argv = [sys.executable, "-m", "celery", "-A", "services.worker.app:celery_app", "worker",
            "-Q", keys.host_queue(settings.host_name), "-n", f"wmi2@{settings.host_name}",
            "-l", "INFO", *WORKER_ARGS]  # fmt: skip
    # exec: the worker is this process, so a signal to it reaches Celery directly.
    os.execv(sys.executable, argv)


def _cmd_sandbox_init(args: argparse.Namespace) -> int:
    from services.cli.private import SANDBOX_UMASK, umask
    from services.worker.sandbox import init_sandbox

    with umask(SANDBOX_UMASK):
        root = init_sandbox(Path(args.dir))
    print(f"sandbox root ready: {root}")
    return 0


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("Password: ")
    if first != getpass.getpass("Again: "):
        raise SystemExit("wmi2: the two passwords differ")
    return first


def _cmd_admin_create(args: argparse.Namespace) -> int:
    from services.cli.accounts import AccountExists, create_admin

    password = _read_password(args.password_stdin)
    if len(password) < 8:
        print("wmi2: a password needs at least 8 characters", file=sys.stderr)
        return 2
    try:
        create_admin(get_settings().resolved_database_url, args.name, password, args.role)
    except AccountExists as exc:
        print(f"wmi2: {exc}", file=sys.stderr)
        return 1
    print(f"WMI account {args.name!r} created with role {args.role}")
    return 0


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="wmi2", description="Web management interface for Linux accounts")
    sub = top.add_subparsers(dest="command", required=True)
    sub.add_parser("up", help="run everything on this machine, in the foreground").set_defaults(func=_cmd_up)
    sub.add_parser(
        "prepare", help="create the sandbox, certificate, database and first admin if missing"
    ).set_defaults(func=_cmd_prepare)
    sub.add_parser("migrate", help="bring the database schema to the latest migration").set_defaults(
        func=_cmd_migrate
    )
    web = sub.add_parser("web", help="serve api and events on one HTTPS origin")
    web.add_argument("--port", type=int, default=None)
    web.set_defaults(func=_cmd_web)
    for name, port, func in (("api", 8000, _cmd_api), ("events", 8001, _cmd_events)):
        service = sub.add_parser(name, help=f"serve the {name} service alone")
        service.add_argument("--port", type=int, default=port)
        service.add_argument("--tls", action="store_true", help="serve HTTPS with the data dir's certificate")
        service.set_defaults(func=func)
    sub.add_parser("worker", help="run the worker of this host").set_defaults(func=_cmd_worker)
    sandbox = sub.add_parser("sandbox", help="sandbox roots").add_subparsers(dest="sandbox", required=True)
    init = sandbox.add_parser("init", help="create a fresh sandbox root")
    init.add_argument("dir")
    init.set_defaults(func=_cmd_sandbox_init)
    admin = sub.add_parser("admin", help="WMI accounts").add_subparsers(dest="admin", required=True)
    create = admin.add_parser("create", help="create a WMI account")
    create.add_argument("name")
    create.add_argument("--role", choices=["admin", "viewer"], default="admin")
    create.add_argument("--password-stdin", action="store_true")
    create.set_defaults(func=_cmd_admin_create)
    return top


def main(argv: list[str] | None = None) -> int:
    from services.cli.private import PRIVATE_UMASK

    # Before anything is created, and inherited by every child (redis-server's AOF,
    # SQLite's files, Celery's, the web servers'): the data dir's files are the owner's.
    os.umask(PRIVATE_UMASK)
    args = parser().parse_args(argv)
    status: int = args.func(args)
    return status
