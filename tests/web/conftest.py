"""The browser tier: the pages in headless Chromium against a whole WMI2, one stack per module.

Modules load ``pytest_plugins = ["tests.support.web_fixtures"]``: its ``stack`` (a worker and
``wmi2 web`` on a sandbox host, seeded with the module's ``SEED_USERS``) and the browser fixtures.
"""
