"""motcua notification: messages to citizens and staff, with retries. Not built yet: see README.md."""
