"""The api's routes, in two packages that mirror each other, one module per resource:

- ``api/``: the JSON API under ``/api/v1`` (in the OpenAPI document);
- ``pages/``: the server-rendered pages and their plain forms (``/users/``, ``/groups/``...).

A change to a host is defined once, in ``core.changes``: the JSON route and the form of the
same resource both call it (``api/users.py`` and ``pages/users.py``, for instance).
"""
