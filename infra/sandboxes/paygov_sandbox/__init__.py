"""A PayGov-style payment gateway sandbox (see README.md)."""
