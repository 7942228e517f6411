"""Settings read once from the environment, and files reloaded when they change."""
