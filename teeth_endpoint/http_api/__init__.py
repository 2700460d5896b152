"""The endpoint's HTTP API for provisioning systems (see app.py)."""
