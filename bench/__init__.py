"""The benchmark: the reference operations under load, mode against mode."""
