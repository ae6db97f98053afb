"""Personal-data sealing: subject ids and per-subject keys, so no personal data is written in
clear into hash-chained events (erasure destroys the key). Its own package because payment,
notification and evaluation will seal and unseal too, not only intake."""
