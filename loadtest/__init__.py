"""WMI2's load tools: locust scenarios, the original's benchmark, the event fan-out.

Run them from the repository root: ``python -m loadtest.bench``, ``python -m loadtest.fanout``,
``locust -f loadtest/locustfile.py``. Figures and how they were obtained: ``RESULTS.md``.
"""
