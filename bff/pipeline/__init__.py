"""One operation, whatever carries it: admit, build the context, execute, report."""
