"""Real parts for the tests: a redis-server, service subprocesses, waiting helpers."""
