"""motcua payment: invoices, payments, refunds, reconciliation. Not built yet: see README.md."""
