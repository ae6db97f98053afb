"""Stand-ins for a brandname SMS gateway and Zalo ZNS (see README.md)."""
