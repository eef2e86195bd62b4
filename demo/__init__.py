"""The demo data `make run` loads into an empty database."""
