"""Names and units of a world's regions and products, for reports.

A world built from a multi-regional table keeps only codes (``AUS``, ``c1``): the WIOD
tables name their sectors in a separate list and their regions by ISO 3166 code. A report
shows names, so this module carries the WIOD 2013 release's 40 countries and its rest of
the world, and reads the 35 sector names from the shipped ``wiod_2011_7regions`` table
(the same WIOD 2013 sector list, c1..c35). Any other world is shown by its own ids.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

#: the WIOD 2013 release's regions (Timmer et al. 2015, table 1): ISO 3166 codes and RoW
WIOD_REGIONS = {
    "AUS": "Australia", "AUT": "Austria", "BEL": "Belgium", "BGR": "Bulgaria", "BRA": "Brazil", "CAN": "Canada",
    "CHN": "China", "CYP": "Cyprus", "CZE": "Czech Republic", "DEU": "Germany", "DNK": "Denmark", "ESP": "Spain",
    "EST": "Estonia", "FIN": "Finland", "FRA": "France", "GBR": "United Kingdom", "GRC": "Greece", "HUN": "Hungary",
    "IDN": "Indonesia", "IND": "India", "IRL": "Ireland", "ITA": "Italy", "JPN": "Japan", "KOR": "South Korea",
    "LTU": "Lithuania", "LUX": "Luxembourg", "LVA": "Latvia", "MEX": "Mexico", "MLT": "Malta", "NLD": "Netherlands",
    "POL": "Poland", "PRT": "Portugal", "ROM": "Romania", "RUS": "Russia", "SVK": "Slovakia", "SVN": "Slovenia",
    "SWE": "Sweden", "TUR": "Turkey", "TWN": "Taiwan", "USA": "United States", "RoW": "Rest of the world",
}

_WIOD_SECTOR = re.compile(r"c\d{1,2}")


@lru_cache(maxsize=1)
def _wiod_sectors() -> tuple[dict[str, str], str]:
    """WIOD 2013 sector code -> name, and the table's unit, from the shipped 7-region table."""
    import pandas as pd

    from gosplan import datasets

    p = pd.read_parquet(datasets.path("wiod_2011_7regions") / "economy" / "products.parquet")
    ids = p["id"] if "id" in p.columns else p.index.to_series()
    codes = ids.astype(str).str.split("/", n=1).str[1]
    names = dict(zip(codes, p["name"].astype(str), strict=True))
    units = p["unit"].dropna().astype(str).unique() if "unit" in p.columns else []
    return names, (str(units[0]) if len(units) == 1 else "")


@dataclass(frozen=True)
class WorldNames:
    """Names of a world's regions and products, the unit its product quantities are counted
    in, and where the names come from (``source``, empty when the world's own ids are shown)."""

    regions: dict[str, str] = field(default_factory=dict)
    products: dict[str, str] = field(default_factory=dict)
    unit: str = "units of each product"
    source: str = ""

    @classmethod
    def of(cls, world) -> WorldNames:
        """The names of ``world``: WIOD's where its products are WIOD 2013 sector codes."""
        base = world.economy.products
        units = [u for u in base["unit"].astype(str).unique() if u] if "unit" in base.columns else []
        unit = units[0] if len(units) == 1 else "units of each product"
        regions = {r: WIOD_REGIONS[r] for r in world.regions if r in WIOD_REGIONS}
        products: dict[str, str] = {}
        source = ""
        if world.products and all(_WIOD_SECTOR.fullmatch(p) for p in world.products):
            names, wunit = _wiod_sectors()
            if set(world.products) <= set(names):
                products = {p: names[p] for p in world.products}
                source = ("Sector names: the WIOD 2013 release's sector list (c1..c35); region names: ISO 3166 "
                          "for WIOD's 40 countries.")
                if not units and wunit:
                    # the table counts every product in its money: what a unit of output cost in 2011
                    unit = f"{wunit} (2011)" if "2011" in world.name else wunit
        return cls(regions, products, unit, source)

    @property
    def common_unit(self) -> bool:
        """Whether every product is counted in one unit (then quantities of different products add up)."""
        return self.unit != "units of each product"

    def region(self, r: str) -> str:
        return self.regions.get(str(r), str(r))

    def product(self, p: str) -> str:
        return self.products.get(str(p), str(p))

    def short(self, p: str, width: int = 28) -> str:
        """A product's name cut to ``width`` characters for a chart's labels."""
        s = self.product(p)
        return s if len(s) <= width else s[: width - 1].rstrip(" ,;") + "…"

    def good(self, ident: str) -> str:
        """``REGION/product`` as "product in region"."""
        r, _, p = str(ident).partition("/")
        return f"{self.product(p)} in {self.region(r)}" if p else self.region(r)
