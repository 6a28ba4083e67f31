"""The API gateway: pages, the REST API under /api/v1, logins, and the enqueueing of jobs."""
