"""Workflow's domain: no I/O here."""
