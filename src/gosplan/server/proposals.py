"""Proposals in the shapes councils make them, and the proposal form's view.

A delegate proposes by group (a per cent change for every product of a group) or by
product (an amount, or a change against the base year), with priorities per group and a
comment. The API's body and the page's form both become one request here
(:func:`stored_proposal`): absolute amounts and priorities per product, which is what a
round stores and its replay reads. :func:`form_view` is what the form shows: products
grouped, with names, units and base-year amounts, what the proposal costs in labour and
limited factors, and the per-unit costs the page's script totals while the delegate types.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from gosplan.democracy import costing
from gosplan.errors import SchemaError
from gosplan.server.explain import article
from gosplan.server.services import Invalid

#: The priorities a delegate chooses from on the form (weights in the plan's objective).
PRIORITIES = (("", "normal"), ("2", "high (counts twice)"), ("4", "highest (counts four times)"),
              ("0.5", "low (counts half)"))


def stored_proposal(economy: str | None, round_id: int, kind: str, data: dict) -> dict:
    """``data`` (``basket``, ``changes``, ``groups``, ``priorities``, ``group_priorities``,
    ``limits``, ``comment``) as the round stores it: amounts and priorities per product."""
    changes, groups = data.pop("changes", None) or {}, data.pop("groups", None) or {}
    group_priorities = data.pop("group_priorities", None) or {}
    if economy is None:
        if changes or groups or group_priorities:
            raise Invalid(f"round {round_id} is {article(kind)} round; proposals by change or group are for plan rounds")
        return data
    try:
        cat = costing.catalogue(economy)
        data["basket"] = costing.basket(cat, amounts=data.get("basket"), changes=changes, group_changes=groups)
        data["priorities"] = costing.priorities(cat, products=data.get("priorities"), groups=group_priorities)
    except SchemaError as exc:
        raise Invalid(f"{exc} (economy {economy!r})") from None
    return data


def number(raw: object, what: str) -> float | None:
    """A number typed into a form: ``+5``, ``5 %``, ``1,250.5``; None when blank."""
    text = str(raw or "").strip().replace(",", "").replace("%", "").strip()
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        raise Invalid(f"{what}: {str(raw)!r} is not a number") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise Invalid(f"{what}: {str(raw)!r} is not a finite number")
    return value


def from_form(economy: str, form) -> dict:  # noqa: ANN001
    """The proposal a submitted form makes, in the API's shape (names refer to the form's fields)."""
    cat = costing.catalogue(economy)
    names = cat.products["name"]
    groups = cat.groups
    data: dict = {"basket": {}, "changes": {}, "groups": {}, "group_priorities": {},
                  "comment": str(form.get("comment") or "").strip()[:2000]}
    for k in form:
        kind, _, key = k.partition(":")
        if kind == "basket" and key in names.index:
            q = number(form.get(k), f"amount of {names[key]} ({key})")
            if q is not None:
                data["basket"][key] = q
        elif kind == "change" and key in names.index:
            q = number(form.get(k), f"change of {names[key]} ({key})")
            if q is not None:
                data["changes"][key] = q
        elif kind in ("gchange", "gpriority") and key.isdigit() and int(key) < len(groups):
            g = groups[int(key)]
            q = number(form.get(k), f"{'change' if kind == 'gchange' else 'priority'} of {g}")
            if q is not None:
                data["groups" if kind == "gchange" else "group_priorities"][g] = q
        elif kind in ("basket", "change"):
            raise Invalid(f"{kind}: unknown product {key!r} in economy {economy!r}")
    return data


@dataclass
class ProductRow:
    id: str
    name: str
    unit: str
    base: float
    amount: str = ""
    change: str = ""


@dataclass
class GroupView:
    index: int
    name: str
    unit: str
    base: float
    change: str
    priority: str
    products: list[ProductRow] = field(default_factory=list)


@dataclass
class FormView:
    economy: str
    base_year: str
    groups: list[GroupView]
    costs: list[costing.FactorCost]
    #: what the page's script reads: per-unit costs and base amounts in the products' order
    script_data: dict
    #: why the proposal typed cannot be costed (a field that is not a number, ...)
    error: str = ""


def form_view(economy: str, form=None) -> FormView:  # noqa: ANN001
    """The form for ``economy``, filled with ``form``'s values when given (every group at
    0 % by default: the base year), and what the proposal it shows costs."""
    cat = costing.catalogue(economy)
    form = form or {}
    error = ""
    try:
        proposal = from_form(economy, form) if form else {
            "basket": {}, "changes": {}, "groups": {g: 0.0 for g in cat.groups}}
        basket = costing.basket(cat, amounts=proposal["basket"], changes=proposal["changes"],
                                group_changes=proposal["groups"])
        costs = cat.cost(basket)
    except (Invalid, SchemaError) as exc:
        # keep what was typed and say what to fix; the cost waits for a proposal it can read
        error, costs = str(exc), []
    views = []
    for i, g in enumerate(cat.groups):
        rows = cat.products[cat.products["group"] == g]
        units = rows["unit"].unique()
        views.append(GroupView(i, g, units[0] if len(units) == 1 else "", float(rows["base"].sum()),
                               str(form.get(f"gchange:{i}", "0")) if form else "0",
                               str(form.get(f"gpriority:{i}", "")) if form else "",
                               [ProductRow(str(p), str(r["name"]), str(r["unit"]), float(r["base"]),
                                           str(form.get(f"basket:{p}", "")) if form else "",
                                           str(form.get(f"change:{p}", "")) if form else "")
                                for p, r in rows.iterrows()]))
    group_of = {g: i for i, g in enumerate(cat.groups)}
    script = {"products": [str(p) for p in cat.products.index],
              "base": [float(v) for v in cat.products["base"]],
              "group": [group_of[g] for g in cat.products["group"]],
              "factors": [{"id": str(f), "label": row["label"], "unit": row["unit"], "supply": float(row["supply"]),
                           "against": row["against"], "per_unit": [float(v) for v in cat.costs.loc[f]]}
                          for f, row in cat.factors.iterrows()]}
    return FormView(economy, costing.BASE_YEAR, views, costs, script, error)
