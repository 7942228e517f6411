"""Typed clients for the downstream REST services (see `clients.base`)."""
