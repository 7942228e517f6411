"""Runnable stand-ins for the six downstream REST services the BFF federates.

Seeded, deterministic data served in the shape of `downstream-contract.md`, with
fault injection and request accounting for tests and benchmarks. See README.md.
"""
