"""The worker: the only code that acts on a host's accounts."""
