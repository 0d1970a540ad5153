"""What a council's proposal costs: labour and limited factors against what the economy supplies.

A council proposes final demand. Before the vote it should see the trade-off: every unit of
a product needs its labour value (labour embodied directly and indirectly,
:func:`gosplan.analysis.labour_values`) and its total use of every other factor
(:func:`gosplan.analysis.factor_multipliers`). The proposal's need of a factor is the
multipliers times the proposed amounts; it is set against the factor's ``available`` supply
where the economy states one, else against the base year's use of it (the multipliers times
the base year's total final demand), so "+5 % on everything" reads as "5 % more labour".

The :class:`Catalogue` of an economy (products with names, units, groups and base-year
amounts; the cost vectors) is computed once per economy and cached. :func:`basket` turns the
shapes a council may propose in (amounts, or per cent changes against the base year, per
product or per group) into the absolute amounts per product that a round stores.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd

from gosplan.errors import SchemaError

#: What the base-year amount of a product is: the economy's total final demand of it.
BASE_YEAR = ("total final demand of the base year (households, government, investment, changes in inventories "
             "and exports), negative totals counted as 0")


@dataclass(frozen=True)
class FactorCost:
    """One factor's need under a proposal against the supply it is measured against."""

    factor: str
    label: str  #: "labour (hours)", the factor's name otherwise
    unit: str
    needs: float
    supplies: float
    against: str  #: "available" (the economy's stated supply) or "base year" (the base year's use)

    @property
    def over(self) -> bool:
        return self.needs > self.supplies * (1 + 1e-12)

    @property
    def share(self) -> float | None:
        """Need as a fraction of the supply (None when the supply is zero)."""
        return self.needs / self.supplies if self.supplies else None

    def sentence(self) -> str:
        """ "your proposal needs 41.2 billion hours; the workforce supplies 38.0 billion". """
        need = format_quantity(self.needs, self.unit)
        supply = format_quantity(self.supplies, self.unit)
        if self.against == "available":
            who = "the workforce supplies" if self.label.startswith("labour") else "the economy can supply"
        else:
            who = "the base year used"
        return f"{self.label}: your proposal needs {need}; {who} {supply}"


@dataclass(frozen=True)
class Catalogue:
    """An economy as a council proposes to it: products and the costs of one unit of each."""

    economy: str
    #: one row per product, in the economy's order: name, unit, group, base (base-year amount)
    products: pd.DataFrame
    #: costed factor x product: labour values and the multipliers of limited factors
    costs: pd.DataFrame
    #: one row per costed factor: label, unit, supply, against
    factors: pd.DataFrame

    @property
    def groups(self) -> list[str]:
        """Group names in the order their first product appears."""
        return list(dict.fromkeys(self.products["group"]))

    def cost(self, basket: dict[str, float]) -> list[FactorCost]:
        """The need of every costed factor for ``basket`` (product -> amount)."""
        y = pd.Series(basket, dtype=float).reindex(self.products.index, fill_value=0.0).to_numpy()
        needs = self.costs.to_numpy() @ y
        return [FactorCost(str(f), str(row.label), str(row.unit), float(n), float(row.supply), str(row.against))
                for (f, row), n in zip(self.factors.iterrows(), needs, strict=True)]

    def base_basket(self) -> dict[str, float]:
        return {str(k): float(v) for k, v in self.products["base"].items()}


@lru_cache(maxsize=8)
def catalogue(name: str) -> Catalogue:
    """The catalogue of the shipped economy ``name`` (computed once per process)."""
    from gosplan.analysis import factor_multipliers, labour_factors
    from gosplan.sources import read_economy
    from gosplan.sources.groups import economy_groups

    eco = read_economy(name)
    total = eco.final_demand.sum(axis=1).reindex(eco.product_ids).fillna(0.0)
    products = pd.DataFrame({
        "name": eco.products["name"].astype(str).str.strip(),
        "unit": eco.products["unit"].astype(str),
        "group": economy_groups(name, eco),
        "base": total.clip(lower=0.0),
    }, index=eco.product_ids)
    labour = list(labour_factors(eco))
    limited = [str(f) for f, a in eco.factors["available"].items() if math.isfinite(float(a)) and f not in labour]
    costed = labour + limited
    if not costed:
        # no labour and nothing limited (a table with value added only): cost what it has
        costed = [str(f) for f, signed in eco.factors["signed"].items() if not signed]
    if not costed:
        return Catalogue(name, products, pd.DataFrame(index=pd.Index([], name="factor"), columns=eco.product_ids,
                                                      dtype=float),
                         pd.DataFrame(columns=["label", "unit", "supply", "against"]))
    costs = factor_multipliers(eco, costed)
    base_use = costs.to_numpy() @ total.to_numpy()
    rows = []
    for f, used in zip(costed, base_use, strict=True):
        available = float(eco.factors.loc[f, "available"])
        label = f"labour ({f})" if f in labour else (str(eco.factors.loc[f, "name"] or "").strip() or f)
        finite = math.isfinite(available)
        rows.append({"label": label, "unit": str(eco.factors.loc[f, "unit"]),
                     "supply": available if finite else float(used), "against": "available" if finite else "base year"})
    return Catalogue(name, products, costs, pd.DataFrame(rows, index=pd.Index(costed, name="factor")))


def basket(cat: Catalogue, *, amounts: dict[str, float] | None = None, changes: dict[str, float] | None = None,
           group_changes: dict[str, float] | None = None) -> dict[str, float]:
    """Absolute amounts per product from a proposal in any of its shapes.

    A product's own amount wins over its own change (per cent against its base-year
    amount), which wins over its group's change; a product named by none of them is not
    in the proposal. A change below -100 % is refused (an amount cannot be negative).
    """
    products = cat.products
    amounts, changes, group_changes = amounts or {}, changes or {}, group_changes or {}
    _known("changes", changes, products.index, "product")
    _known("groups", group_changes, cat.groups, "group")
    for part, values in (("changes", changes), ("groups", group_changes)):
        for k, c in values.items():
            if not math.isfinite(c) or c < -100:
                raise SchemaError(f"{part}: the change of {k!r} is {c!r} %; give a finite change of at least -100 %")
    out: dict[str, float] = {}
    for p, row in products.iterrows():
        if p in amounts:
            out[p] = float(amounts[p])
        elif p in changes:
            out[p] = _changed(row.base, changes[p])
        elif row.group in group_changes:
            out[p] = _changed(row.base, group_changes[row.group])
    # unknown products in amounts are kept so that the round's own check names them
    out.update({k: float(v) for k, v in amounts.items() if k not in out})
    return out


def priorities(cat: Catalogue, *, products: dict[str, float] | None = None,
               groups: dict[str, float] | None = None) -> dict[str, float]:
    """Per-product priorities from priorities per product and per group (a product's own wins)."""
    products, groups = products or {}, groups or {}
    _known("group_priorities", groups, cat.groups, "group")
    out = {str(p): float(groups[g]) for p, g in cat.products["group"].items() if g in groups}
    out.update({str(k): float(v) for k, v in products.items()})
    return out


def _changed(base: float, percent: float) -> float:
    # rounded to a millionth of the unit so that a stored amount reads as the change typed
    return float(np.round(base * (1.0 + percent / 100.0), 6))


def _known(part: str, values: dict, known, what: str) -> None:  # noqa: ANN001
    known = set(known)
    for k in values:
        if k not in known:
            shown = sorted(known)
            raise SchemaError(f"{part}: unknown {what} {k!r}; the economy has {', '.join(shown[:25])}"
                              + (" ..." if len(shown) > 25 else ""))


_SCALES = {"thousand": 1e3, "million": 1e6, "billion": 1e9}


def format_quantity(value: float, unit: str) -> str:
    """``value`` in ``unit`` as people say it: 251,234 "million hours" -> "251.2 billion hours",
    1,620,000 "GBP million" -> "1.6 trillion GBP"."""
    words = unit.split()
    scaled = [w for w in words if w in _SCALES]
    if not scaled:
        return f"{value:,.1f} {unit}".rstrip()
    scale = _SCALES[scaled[0]]
    words.remove(scaled[0])
    rest = " ".join(words)
    absolute = abs(value) * scale
    for word, factor in (("trillion", 1e12), ("billion", 1e9), ("million", 1e6)):
        if absolute >= factor:
            return f"{value * scale / factor:,.1f} {word} {rest}".rstrip()
    return f"{value * scale:,.0f} {rest}".rstrip()
