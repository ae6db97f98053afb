"""A bank sandbox that notifies the merchant of credits to its collecting account (see README.md)."""
