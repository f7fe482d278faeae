"""Upstream sync: the outbox relay, the county hub client, Snipe-IT and MDM import files."""
