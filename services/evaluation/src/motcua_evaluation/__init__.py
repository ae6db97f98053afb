"""motcua evaluation: citizen ratings and the scoring indices (Decision 766/QĐ-TTg). Not built yet: see README.md."""
