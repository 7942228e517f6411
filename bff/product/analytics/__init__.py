"""Usage analytics: one event per operation and per exposure, shipped off the request path."""
