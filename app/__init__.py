"""Stage 3: answering, the web UI and the CLI."""
