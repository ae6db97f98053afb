"""Searches ignore Vietnamese diacritics and case."""
from __future__ import annotations

import unicodedata

from motcua_common.province.search_text import fold


def test_diacritics_case_and_d_bar_are_folded_in_either_normal_form():
    assert fold("Nguyễn") == fold("NGUYEN") == "nguyen"
    assert fold("Đồng Hới") == "dong hoi"
    assert fold(unicodedata.normalize("NFD", "Tình trạng hôn nhân")) == "tinh trang hon nhan"
