"""The province's and the nation's rules as data: the working calendar (holidays, Tết,
compensatory days, extra sessions), the organisation of units, national dossier statuses, channels
and end reasons, and Vietnamese text folding for search."""
