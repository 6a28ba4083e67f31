"""The events service: the event log streamed to browsers over SSE.

ARCHITECTURE.md (section "Events") explains its races and how each is closed.
"""
