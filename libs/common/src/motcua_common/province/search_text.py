"""Text folded for searching: Vietnamese diacritics and case ignored ("Nguyen" finds "Nguyễn")."""
from __future__ import annotations

import unicodedata


def fold(text: str) -> str:
    """Lower case without diacritics; đ/Đ (a letter of its own, not an accent) becomes d."""
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()
