"""Tamper evidence and accountability: the hash chain of stored events with signed checkpoints
and their verification (log), signed exports of a dossier's history (export), the records of who read
what (access: DossierRead), and the motcua-audit command (cli). Built on the events room; services
hand its hooks to their event store."""
