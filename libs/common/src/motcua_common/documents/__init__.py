"""Official documents: printable administrative forms as PDF in Vietnamese. Its own package
because payment (receipts), notification and evaluation will print documents too, not only workflow."""
