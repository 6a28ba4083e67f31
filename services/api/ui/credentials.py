"""The sheet of passwords a bulk action or an import made: shown once, as cards to print or
a CSV the browser saves itself (a ``data:`` link: the passwords are kept nowhere to fetch again)."""

from __future__ import annotations

import csv
import io
from urllib.parse import quote

from services.api.core.bulk import Credential


def credentials_csv(credentials: list[Credential]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["login", "full_name", "password"])
    writer.writerows([c.login, c.full_name, c.password] for c in credentials)
    # With a byte-order mark, so that a spreadsheet reads the accents of the names right.
    return "data:text/csv;charset=utf-8," + quote("\ufeff" + out.getvalue())
