"""What ops teams see: traces, metrics, logs and each operation's telemetry."""
