"""Intake's domain: no I/O here."""
