"""Product groups shipped with the economies (gosplan.sources.groups)."""

from __future__ import annotations

import pandas as pd
import pytest

from gosplan.errors import SchemaError
from gosplan.sources import read_economy
from gosplan.sources.groups import ALL_PRODUCTS, economy_groups, read_product_groups


def test_uk_products_fall_in_their_cpa_sections():
    """CPA 2008 sections by division (ONS, UK SIC 2007 structure): 10-33 C, 68 L, 86-88 Q;
    non-market and NPISH products sit in the section of their division."""
    g = economy_groups("uk_2010", read_economy("uk_2010"))
    assert g["10-1"].startswith("C ") and g["68-2IMP"].startswith("L ") and g["NPISH_86"].startswith("Q ")
    assert g["NM_84"].startswith("O ") and g["01"].startswith("A ") and g["97"].startswith("T ")
    assert g.index.equals(read_economy("uk_2010").product_ids)


def test_wiod_industries_fall_in_their_nace_sections():
    g = economy_groups("usa_2014", read_economy("usa_2014"))
    assert g["C26"].startswith("C ") and g["H49"].startswith("H ") and g["R_S"].startswith("R-S ")
    assert g.nunique() == 20


def test_a_regional_economy_without_a_file_is_grouped_by_region():
    eco = read_economy("wiod_2011_7regions")
    g = economy_groups("wiod_2011_7regions", eco)
    assert g["China/c3"] == "China" and g.nunique() == 7


def test_an_economy_without_file_or_regions_is_one_group():
    g = read_product_groups("usa_2014_none", pd.Index(["a", "b"]))
    assert list(g) == [ALL_PRODUCTS, ALL_PRODUCTS]


@pytest.mark.parametrize(("text", "message"), [
    ("product,section\na,x\nb,y\n", "write 'product,group'"),
    ("product,group\na,x\na,y\nb,y\n", "product 'a' is listed twice"),
    ("product,group\na,x\n", r"missing \['b'\]"),
    ("product,group\na,x\nb,y\nc,z\n", r"unexpected \['c'\]"),
    ("product,group\na,x\nb,\n", "row 3 has an empty product or group"),
])
def test_a_bad_grouping_file_is_refused_naming_what_to_fix(tmp_path, text, message):
    path = tmp_path / "groups.csv"
    path.write_text(text)
    with pytest.raises(SchemaError, match=message):
        read_product_groups(path, pd.Index(["a", "b"]))
