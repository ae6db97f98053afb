"""Applicant identity: the 12-digit citizen identification number (số định danh cá nhân / CCCD).

Its structure (Circular 07/2016/TT-BCA, Art. 7): 3 digits for the province where the birth was
registered, 1 digit for century and sex, 2 digits for the year of birth, 6 random digits. The
province codes are those of the 63 provinces before the 2025 merger: numbers already issued
keep them.
"""
from __future__ import annotations

import re
from datetime import date

# ASCII digits only: str.isdigit() also accepts other scripts' digits ("٠٤٥...", "²").
TWELVE_DIGITS = re.compile(r"[0-9]{12}")

PROVINCE_CODES = frozenset(
    "001 002 004 006 008 010 011 012 014 015 017 019 020 022 024 025 026 027 030 031 033 034 035 036 "
    "037 038 040 042 044 045 046 048 049 051 052 054 056 058 060 062 064 066 067 068 070 072 074 075 "
    "077 079 080 082 083 084 086 087 089 091 092 093 094 095 096".split())


def citizen_id_problem(value: str, today: date) -> str | None:
    """Why `value` cannot be a citizen identification number, or None."""
    if not TWELVE_DIGITS.fullmatch(value):
        return "must be the 12 digits of a citizen identification number"
    if value[:3] not in PROVINCE_CODES:
        return f"starts with {value[:3]}, which is not a province code of birth registration"
    born = 1900 + 100 * (int(value[3]) // 2) + int(value[4:6])
    if born > today.year:
        return f"gives a year of birth ({born}) in the future"
    return None
