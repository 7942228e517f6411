"""The `bff` command and running the server under uvicorn."""
