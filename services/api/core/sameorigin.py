"""Whether a request says it comes from one of this site's own pages: against login CSRF.

A page of another site can post our login form with the attacker's own credentials, and
the victim's browser then works, unknowingly, in the attacker's WMI session. Our session
cookie is SameSite=Strict, but the login request itself needs no cookie. Browsers say
where a request comes from in ``Sec-Fetch-Site``; older ones send none, but still send
``Origin`` on a cross-site POST (or at least a ``Referer``), which is checked then.
"""

from __future__ import annotations

from enum import Enum
from urllib.parse import urlsplit

from fastapi import Request

# "none": typed or bookmarked by the user; never what another site's page sends.
_OURS = frozenset({"same-origin", "none"})


class Source(Enum):
    OURS = "ours"
    FOREIGN = "foreign"
    UNTOLD = "untold"


def source(request: Request) -> Source:
    """Where the request comes from, per the browser: our pages, another origin, or unsaid."""
    site = request.headers.get("sec-fetch-site")
    if site is not None:
        return Source.OURS if site in _OURS else Source.FOREIGN
    sender = request.headers.get("origin") or request.headers.get("referer")
    if not sender:
        return Source.UNTOLD
    # The host and port the browser addressed (the proxy passes Host on); "null" (an opaque
    # origin: a sandboxed frame, a data: URL) has none, so it is foreign.
    ours = request.headers.get("host", "")
    return Source.OURS if ours and urlsplit(sender).netloc == ours else Source.FOREIGN
