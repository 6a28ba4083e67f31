"""Hostile values, and every place of every mutating route of /api/v1 to send them to.

The routes and their string fields (body properties, path and query parameters) are read
from the API's OpenAPI document, so that a route or a field added later is covered without
touching this file. A ``/api/v1/hosts/{host}/…`` route whose one-host twin exists (the same
router mounted twice, see services/api/main.py) gets the hostile values in ``{host}`` only:
its other fields reach the same handler as its twin's.

What this file must know is how to fill the *other* fields of a request validly
(``World.valid``): a required field it has no valid value for fails the test, with its name.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

# Every spelling of the options the shadow tools look for anywhere in their argv (they scan
# it for --root/-R and --prefix/-P before parsing it), other leading dashes, the files'
# separators, line breaks of every kind, NUL, a right-to-left override, paths that climb,
# and a shell's command substitution.
OPTIONS = ["-R", "-R/tmp/x", "--root", "--root=/tmp/x", "-P", "-P/tmp/x", "--prefix", "--prefix=/tmp/x"]
CORPUS: list[str] = [
    *OPTIONS,
    "-rf",
    "--help",
    ":",
    "evil:0:0",
    ",",
    "a,b",
    "\n",
    "a\nroot::0:0::/root:/bin/bash",
    "\0",
    "a\0b",
    "a\u2028b",
    "a\u2029b",
    "a\u0085b",
    "\u202eevil",
    "../",
    "../../etc/passwd",
    "$(reboot)",
]
HUGE = "x" * 10_000_000  # 10 MB: sent once per route with a body, into its first string field

# Values a field may legitimately take, so that accepting them is no failure: a password is
# hashed before anything sees it (only NUL cannot be hashed), and a full name is text that
# no tool reads as anything but the GECOS field (once it holds no separator, no line break,
# no invisible character and no leading '-').
# The accepted values a run on a real worker follows to the files (a job each, so a sample:
# options, separators, line breaks, invisible characters, paths and a substitution).
PROBED = frozenset({"-R", "--root=/tmp/x", "-P/tmp/x", "evil:0:0", "a,b", "a\nroot::0:0::/root:/bin/bash",
                    "a\u2028b", "\u202eevil", "../../etc/passwd", "$(reboot)"})  # fmt: skip
MAY_ACCEPT: dict[str, frozenset[str]] = {
    "password": frozenset(v for v in CORPUS if "\0" not in v),
    "full_name": frozenset({"../", "../../etc/passwd", "$(reboot)"}),
}

MUTATING = ("post", "put", "patch", "delete")
# The session's end logs the test's own session out; a roster's body is a CSV file, not JSON
# (its hostile cells: tests/api/routes/api/test_imports.py), and its apply takes a preview's id.
LEFT_OUT = {
    ("DELETE", "/api/v1/session"),
    ("POST", "/api/v1/imports"),
    ("POST", "/api/v1/imports/{preview_id}/apply"),
}


@dataclass(frozen=True)
class Place:
    """One string field of a route: ``where`` is path, query or body; ``many`` a list of strings."""

    where: str
    name: str
    many: bool = False
    required: bool = False
    schema: str = ""  # the body's schema name, for a body property


@dataclass
class Route:
    method: str
    path: str
    places: list[Place] = field(default_factory=list)
    body: str | None = None  # the body schema's name
    required: list[str] = field(default_factory=list)  # required body properties

    @property
    def label(self) -> str:
        return f"{self.method} {self.path}"


def _is_string(schema: dict[str, Any]) -> bool:
    options = schema.get("anyOf", [schema])
    return any(o.get("type") == "string" or ("enum" in o and "type" not in o) for o in options)


def _is_string_list(schema: dict[str, Any]) -> bool:
    options = schema.get("anyOf", [schema])
    return any(o.get("type") == "array" and _is_string(o.get("items", {})) for o in options)


def routes(document: dict[str, Any], *, jobs: bool | None = None) -> list[Route]:
    """The mutating routes with a string field; with ``jobs``, only those that may make a job
    (a documented 202), or only those that may not."""
    schemas = document["components"]["schemas"]
    found = []
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method not in MUTATING or (method.upper(), path) in LEFT_OUT:
                continue
            if jobs is not None and jobs != ("202" in operation.get("responses", {})):
                continue
            route = Route(method.upper(), path)
            for parameter in operation.get("parameters", []):
                if parameter["in"] in ("path", "query") and _is_string(parameter.get("schema", {})):
                    required = parameter.get("required", False)
                    route.places.append(Place(parameter["in"], parameter["name"], required=required))
            content = operation.get("requestBody", {}).get("content", {}).get("application/json")
            if content is not None:
                name = content["schema"]["$ref"].rsplit("/", 1)[-1]
                body = schemas[name]
                route.body, route.required = name, list(body.get("required", []))
                for prop, schema in body.get("properties", {}).items():
                    if _is_string(schema) or _is_string_list(schema):
                        many, required = _is_string_list(schema), prop in route.required
                        route.places.append(Place("body", prop, many, required, name))
            if route.places:
                found.append(route)
    return found


@dataclass
class World:
    """The names a request's other fields are filled with, as they exist on the host under test."""

    host: str
    user: str  # an existing regular user, member of ``group``
    outsider: str  # another existing regular user, not a member of ``group``
    group: str  # an existing regular group
    account: str  # an existing WMI account, not the test's own
    login: tuple[str, str]  # the test's own WMI account and its password
    job: str = ""  # an existing job's id
    _counter: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def fresh(self) -> str:
        return f"hv{next(self._counter)}"

    def valid(self, route: Route, place: Place) -> Any:
        """A value the route accepts in ``place``, or KeyError."""
        if place.where == "path":
            if place.name == "login":
                return self.account if route.path.startswith("/api/v1/accounts/") else self.user
            return {"host": self.host, "name": self.group, "job_id": self.job}[place.name]
        if place.where == "query":
            raise KeyError(place.name)
        key = f"{place.schema}.{place.name}"
        table: dict[str, Any] = {
            "LoginIn.login": self.login[0],
            "LoginIn.password": self.login[1],
            "UserCreateIn.login": self.fresh(),
            "GroupCreateIn.name": self.fresh(),
            "AccountCreateIn.login": self.fresh(),
            "MembersIn.logins": [self.outsider] if route.method == "POST" else [self.user],
            "UserPatchIn.groups": ["video"],
            "UserPatchIn.groups_add": ["video"],
            "UserPatchIn.groups_remove": [self.group],
            "BulkIn.logins": [self.user],
            "BulkIn.action": "lock",
            "BulkIn.groups": ["video"],
            "BulkIn.home": "keep",
        }
        by_name: dict[str, Any] = {
            "password": "a-fine-password-1",
            "full_name": "Hostile Values",
            "shell": "/bin/sh",
            "groups": ["users"],
            "role": "viewer",
        }
        return table[key] if key in table else by_name[place.name]


@dataclass
class Request:
    method: str
    url: str
    json: dict[str, Any] | None
    place: Place
    value: str
    route: Route

    def describe(self) -> str:
        shown = self.value if len(self.value) < 40 else f"<{len(self.value)} characters>"
        return f"{self.route.label} {self.place.where}:{self.place.name}={shown!r}"


# What a body field needs beside it to be read at all: a bulk action's groups are those of
# add_groups (with any other action, groups are refused whatever they are).
READ_WITH: dict[str, dict[str, Any]] = {"BulkIn.groups": {"action": "add_groups"}}


def request(world: World, route: Route, place: Place, value: Any) -> Request:
    """``route`` with ``value`` in ``place`` and valid values in what it requires elsewhere."""
    url, query = route.path, {}
    for other in route.places:
        if other.where == "path":
            given = value if other == place else world.valid(route, other)
            url = url.replace("{" + other.name + "}", quote(given, safe=""))
        elif other.where == "query" and other == place:
            query[other.name] = value
    body: dict[str, Any] | None = None
    if route.body is not None:
        body = {}
        for other in route.places:
            if other.where == "body" and (other == place or other.required):
                given = value if other == place else world.valid(route, other)
                body[other.name] = [given] if other == place and other.many else given
        if place.where == "body":
            body.update(READ_WITH.get(f"{route.body}.{place.name}", {}))
        if not body:  # a PATCH requires no field, but one at least: the first takes a valid value
            first = next(p for p in route.places if p.where == "body")
            body[first.name] = world.valid(route, first)
        for name in route.required:
            if name not in body:
                raise KeyError(f"{route.label}: the required field {name!r} is not a string: fill it here")
    if query:
        url += "?" + "&".join(f"{k}={quote(v, safe='')}" for k, v in query.items())
    return Request(route.method, url, body, place, value if isinstance(value, str) else str(value), route)


def hostile_requests(
    world: World, document: dict[str, Any], *, jobs: bool | None = None, refusable_only: bool = False
) -> list[Request]:
    """Every hostile value in every place of every mutating route; the 10 MB one once per route.

    ``refusable_only`` leaves out the values a place may take (``MAY_ACCEPT``), for a run that
    could not tell what accepting them did."""
    made = []
    found = routes(document, jobs=jobs)
    for route in found:
        places = route.places
        if _has_twin(route, found):  # its other places are the twin's, through the same handler
            places = [p for p in places if p.where == "path" and p.name == "host"]
        for place in places:
            for value in CORPUS:
                req = request(world, route, place, value)
                if not (refusable_only and may_accept(req)):
                    made.append(req)
        first = next((p for p in places if p.where == "body"), None)
        if first is not None:
            made.append(request(world, route, first, HUGE))
    return made


def _has_twin(route: Route, found: list[Route]) -> bool:
    """A ``/hosts/{host}/…`` route whose one-host twin (the same router, mounted on the
    default host) is in ``found``."""
    twin = route.path.replace("/hosts/{host}", "", 1)
    return twin != route.path and any(r.method == route.method and r.path == twin for r in found)


def controls(world: World, document: dict[str, Any]) -> list[Request]:
    """Each place filled with a valid value: the requests a hostile value is compared with."""
    made = []
    for route in routes(document):
        for place in route.places:
            if place.where != "query":
                valid = world.valid(route, place)
                made.append(request(world, route, place, valid[0] if place.many else valid))
    return made


def may_accept(req: Request) -> bool:
    return req.value in MAY_ACCEPT.get(req.place.name, frozenset()) and req.place.where == "body"
