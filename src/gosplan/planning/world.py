"""The world plan: many regions' economies planned as one, coupled by trade.

A :class:`World` is one multi-regional :class:`~gosplan.economy.Economy` built
from each region's own techniques: products and production activities
``REGION/product`` (a region's activity uses the products *of its own region*),
one labour factor ``REGION/labour`` per region with its supply, and *trade
activities* ``FROM>TO/product`` that take ``1 + goods`` units of ``FROM/product``
and ``labour`` units of the exporter's labour and deliver one unit of
``TO/product`` (the transport margin of the pair, from the ``trade_costs``
table). A finite ``limit`` on a pair caps the units it ships in all, as a factor
``FROM>TO/shipping``. Planning a world is then ordinary planning of that economy
(:func:`gosplan.planning.optimal.optimal_plan`) or its exact decomposition by
region (:mod:`gosplan.planning.decompose`).

*Autarky* (:meth:`World.autarky`) is the same world without trade activities:
every region makes what it used to import with its own techniques. The imported
inputs of a region's column in a multi-regional table are attributed to the
*same product of the importing region* (the column's inputs are summed over
their regions of origin; :func:`world_from_mrio`).

Objectives (:func:`world_objective`): ``max-min`` delivers every region's
basket as many times over as possible with the smallest multiple maximised (one
common multiple ``t`` with ``t_r >= t``: free disposal makes the two the same
optimum), ``harmony`` Cockshott's concave fulfilment over every region's basket,
``labour`` the least world labour (the sum of every region's) for given floors.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from gosplan.economy import REGION_SEPARATOR, Economy
from gosplan.errors import ConvergenceError, GosplanError, SchemaError, UnknownIdError

#: the default transport margin of every pair of regions, per unit shipped: 5 % of
#: the goods are used up on the way (Samuelson's 1954 "iceberg" cost) and no labour
DEFAULT_TRADE_COST = {"labour": 0.0, "goods": 0.05, "limit": np.inf}

TRADE_SEPARATOR = ">"


class ImpossibleWorldPlanError(GosplanError):
    """The world (or one region of it) cannot meet its floors with its resources.

    ``regions`` and ``limits`` name the culprits; ``detail`` holds the rows found.
    """

    def __init__(self, message: str, regions: Sequence[str] = (), limits: Sequence[str] = (), detail: Any = None):
        super().__init__(message)
        self.regions = list(regions)
        self.limits = list(limits)
        self.detail = detail


@dataclass(frozen=True, eq=False)
class World:
    """A world economy: regions, their techniques and labour, and trade between them.

    Attributes
    ----------
    economy : the multi-regional economy (production and trade activities).
    regions : region ids, in order.
    products : product names shared by every region (ids are ``REGION/name``).
    tradable : the products that may be traded.
    trade_costs : one row per ordered pair that may trade, index ``(from, to)``,
        columns ``labour``, ``goods``, ``limit``.
    resource : what the ``REGION/labour`` factor counts (``"labour"`` or a proxy,
        e.g. ``"value added (proxy for labour)"``), printed in every output.
    """

    economy: Economy
    regions: tuple[str, ...]
    products: tuple[str, ...]
    tradable: tuple[str, ...]
    trade_costs: pd.DataFrame
    resource: str = "labour"
    name: str = "world"
    meta: Mapping[str, Any] = field(default_factory=dict)

    def __repr__(self) -> str:
        return (
            f"<World {self.name!r}: {len(self.regions)} regions x {len(self.products)} products, "
            f"{len(self.tradable)} tradable, {len(self.trade_costs)} trading pairs; resource {self.resource!r}>"
        )

    @property
    def labour_factors(self) -> pd.Index:
        return pd.Index([f"{r}{REGION_SEPARATOR}labour" for r in self.regions], dtype=object)

    @property
    def labour_available(self) -> pd.Series:
        f = self.economy.factors
        return pd.Series(
            f.loc[self.labour_factors, "available"].to_numpy(dtype=float), index=pd.Index(self.regions, name="region"), name="available"
        )

    def region_of_products(self) -> np.ndarray:
        return self.economy.products["region"].to_numpy(dtype=object)

    def autarky(self) -> World:
        """The same regions with no trade: each makes everything it uses itself."""
        e = self.economy
        keep = ~e.activities["kind"].eq("trade").to_numpy() if "kind" in e.activities else np.ones(len(e.activities), bool)
        fkeep = ~e.factor_ids.str.contains(TRADE_SEPARATOR, regex=False)
        econ = Economy(
            products=e.products,
            activities=e.activities[keep],
            factors=e.factors[fkeep],
            use=e.use[:, np.flatnonzero(keep)],
            make=e.make[:, np.flatnonzero(keep)],
            factor_use=e.factor_use[np.flatnonzero(fkeep)][:, np.flatnonzero(keep)],
            name=f"{e.name} (autarky)",
            meta={**e.meta, "autarky": True},
        )
        return dataclasses.replace(
            self, economy=econ, tradable=(), trade_costs=self.trade_costs.iloc[0:0], name=f"{self.name} (autarky)"
        )

    def region(self, r: str) -> Economy:
        """One region alone (its products, production and labour), as its own economy."""
        if r not in self.regions:
            raise UnknownIdError(f"region {r!r} is not in world {self.name!r} (regions: {list(self.regions)[:10]})")
        a = self.autarky().economy
        pm = a.products["region"].to_numpy(dtype=object) == r
        am = a.activities["region"].to_numpy(dtype=object) == r
        fm = a.factors.index.str.startswith(f"{r}{REGION_SEPARATOR}")
        return Economy(
            products=a.products[pm],
            activities=a.activities[am],
            factors=a.factors[fm],
            use=a.use[np.flatnonzero(pm)][:, np.flatnonzero(am)],
            make=a.make[np.flatnonzero(pm)][:, np.flatnonzero(am)],
            factor_use=a.factor_use[np.flatnonzero(fm)][:, np.flatnonzero(am)],
            name=f"{self.name}: {r}",
        )


def trade_cost_table(
    regions: Sequence[str],
    trade_costs: pd.DataFrame | None = None,
    pairs: Sequence[tuple[str, str]] | None = None,
    default: Mapping[str, float] | None = None,
) -> pd.DataFrame:
    """The checked transport margins of every pair that may trade.

    ``trade_costs``: columns ``from``, ``to`` and any of ``labour`` (exporter's labour
    per unit shipped), ``goods`` (share of the goods used up on the way), ``limit``
    (most units shipped in all); missing cells take ``default``
    (:data:`DEFAULT_TRADE_COST`). ``pairs``: the ordered pairs that may trade; by
    default every pair of distinct regions (and the pairs of the table).
    """
    d = {**DEFAULT_TRADE_COST, **(default or {})}
    for k, v in d.items():
        if not (isinstance(v, (int, float)) and v >= 0):
            raise SchemaError(f"default trade cost {k!r} is {v!r}; it must be a number >= 0")
    regs = list(regions)
    known = set(regs)
    if pairs is None:
        pairs = [(a, b) for a in regs for b in regs if a != b]
    idx = pd.MultiIndex.from_tuples([(str(a), str(b)) for a, b in pairs], names=["from", "to"])
    table = pd.DataFrame({k: float(v) for k, v in d.items()}, index=idx)
    if trade_costs is not None:
        tc = trade_costs.reset_index() if "from" not in trade_costs.columns else trade_costs.copy()
        missing = {"from", "to"} - set(tc.columns)
        if missing:
            raise SchemaError(f"trade_costs: missing column(s) {sorted(missing)}; give from, to and labour/goods/limit")
        unknown_cols = set(tc.columns) - {"from", "to", "labour", "goods", "limit"}
        if unknown_cols:
            raise SchemaError(f"trade_costs: unknown column(s) {sorted(unknown_cols)}; use from, to, labour, goods, limit")
        for i, pair in enumerate(zip(tc["from"], tc["to"], strict=True)):
            for r in pair:
                if str(r) not in known:
                    raise UnknownIdError(
                        f"trade_costs row {i + 1}: region {r!r} is not in the world (regions: {regs[:10]}); "
                        "fix the spelling or drop the row"
                    )
        for col in ("labour", "goods", "limit"):
            if col not in tc.columns:
                continue
            v = pd.to_numeric(tc[col], errors="coerce")
            bad = tc[col].notna() & (v.isna() | (v < 0))
            if bad.any():
                i = int(np.flatnonzero(bad.to_numpy())[0])
                raise SchemaError(
                    f"trade_costs row {i + 1} ({tc['from'].iloc[i]}->{tc['to'].iloc[i]}): {col} is "
                    f"{tc[col].tolist()[i]!r}; a transport cost or limit must be a number >= 0"
                )
        same = tc["from"].astype(str) == tc["to"].astype(str)
        if same.any():
            i = int(np.flatnonzero(same.to_numpy())[0])
            raise SchemaError(f"trade_costs row {i + 1}: a region does not trade with itself ({tc['from'].iloc[i]})")
        key = pd.MultiIndex.from_arrays([tc["from"].astype(str), tc["to"].astype(str)], names=["from", "to"])
        if key.duplicated().any():
            raise SchemaError(f"trade_costs: pair {key[key.duplicated()][0]} appears twice; give each pair once")
        new = key.difference(table.index)
        if len(new):
            table = pd.concat([table, pd.DataFrame({k: float(v) for k, v in d.items()}, index=new)])
        for col in ("labour", "goods", "limit"):
            if col in tc.columns:
                v = pd.to_numeric(tc[col], errors="coerce").to_numpy()
                ok = ~np.isnan(v)
                table.loc[key[ok], col] = v[ok]
    return table


def build_world(
    products: Sequence[str],
    use: Mapping[str, Any],
    labour: Mapping[str, Any],
    available: Mapping[str, float],
    *,
    trade_costs: pd.DataFrame | None = None,
    pairs: Sequence[tuple[str, str]] | None = None,
    tradable: Sequence[str] | None = None,
    default_cost: Mapping[str, float] | None = None,
    resource: str = "labour",
    resource_unit: str = "hours",
    name: str = "world",
    meta: Mapping[str, Any] | None = None,
) -> World:
    """A world from each region's techniques, labour and trade costs.

    Parameters
    ----------
    products : the product names (the same in every region).
    use : region -> input coefficients (products x products: input of ``i`` per unit
        of ``j`` made in the region; dense or sparse).
    labour : region -> labour per unit of each product made there.
    available : region -> labour the region can give (> 0).
    trade_costs, pairs, default_cost : see :func:`trade_cost_table`.
    tradable : the products that may be traded (default: all).
    resource, resource_unit : what the labour factor counts (say "proxy" where it is one).
    """
    regions = [str(r) for r in use]
    prods = [str(p) for p in products]
    n, R = len(prods), len(regions)
    if R == 0 or n == 0:
        raise SchemaError("a world needs at least one region and one product")
    for r in regions:
        if r not in labour or r not in available:
            raise SchemaError(f"region {r!r} has no labour: give it labour coefficients and a labour supply (available)")
        a = float(available[r])
        if not np.isfinite(a) or a <= 0:
            raise SchemaError(
                f"region {r!r} has no labour (available = {a!r}): give it a positive labour supply, or leave it out"
            )
        lv = np.asarray(labour[r], dtype=float).ravel()
        if lv.shape != (n,) or not np.isfinite(lv).all() or (lv < 0).any():
            raise SchemaError(f"region {r!r}: labour coefficients must be {n} finite numbers >= 0")
        if not (lv > 0).any():
            raise SchemaError(f"region {r!r} has no labour: every labour coefficient is 0; give its activities their labour")
    for r in list(labour) + list(available):
        if str(r) not in regions:
            raise UnknownIdError(f"labour given for region {r!r}, which has no techniques (use); give both or neither")
    costs = trade_cost_table(regions, trade_costs, pairs, default_cost)
    trad = prods if tradable is None else [str(p) for p in tradable]
    unknown = set(trad) - set(prods)
    if unknown:
        raise UnknownIdError(f"tradable: product(s) {sorted(unknown)[:10]} are not products of the world")
    tpos = np.array([prods.index(p) for p in trad], dtype=np.int64) if tradable is not None else np.arange(n)
    ridx = {r: k for k, r in enumerate(regions)}

    # production: block diagonal, product (r, i) at r * n + i
    blocks = []
    for r in regions:
        U = sp.csr_array(use[r], dtype=float) if sp.issparse(use[r]) else sp.csr_array(np.asarray(use[r], dtype=float))
        if U.shape != (n, n):
            raise SchemaError(f"region {r!r}: input coefficients are {U.shape}, expected {(n, n)}")
        blocks.append(U)
    P = R * n
    Uprod = sp.block_diag(blocks, format="csr")
    lab_rows = np.repeat(np.arange(R), n)
    lab_vals = np.concatenate([np.asarray(labour[r], dtype=float).ravel() for r in regions])

    # trade: one activity per pair and tradable product
    fr = np.array([ridx[a] for a, _ in costs.index], dtype=np.int64)
    to = np.array([ridx[b] for _, b in costs.index], dtype=np.int64)
    m, k = len(costs), len(tpos)
    T = m * k
    pf = np.repeat(fr, k) * n + np.tile(tpos, m)  # exporter's product
    pt = np.repeat(to, k) * n + np.tile(tpos, m)  # importer's product
    goods = np.repeat(costs["goods"].to_numpy(dtype=float), k)
    tlab = np.repeat(costs["labour"].to_numpy(dtype=float), k)
    J = P + T
    tcols = P + np.arange(T)
    use_all = sp.hstack([Uprod, sp.csr_array((1.0 + goods, (pf, np.arange(T))), shape=(P, T))], format="csr")
    make_all = sp.csr_array(
        (np.concatenate([np.ones(P), np.ones(T)]), (np.concatenate([np.arange(P), pt]), np.concatenate([np.arange(P), tcols]))),
        shape=(P, J),
    )
    limited = np.flatnonzero(np.isfinite(costs["limit"].to_numpy(dtype=float)))
    F = R + len(limited)
    frow = [lab_rows, np.repeat(fr, k)]
    fcol = [np.arange(P), tcols]
    fval = [lab_vals, tlab]
    for q, pi in enumerate(limited):
        frow.append(np.full(k, R + q))
        fcol.append(P + pi * k + np.arange(k))
        fval.append(np.ones(k))
    fu = sp.csr_array((np.concatenate(fval), (np.concatenate(frow), np.concatenate(fcol))), shape=(F, J))

    reg_p = np.repeat(np.array(regions, dtype=object), n)
    base_p = np.tile(np.array(prods, dtype=object), R)
    pid = [f"{r}{REGION_SEPARATOR}{p}" for r, p in zip(reg_p, base_p, strict=True)]
    pair_lab = [f"{a}{TRADE_SEPARATOR}{b}" for a, b in costs.index]
    tid = [f"{pl}{REGION_SEPARATOR}{prods[i]}" for pl in pair_lab for i in tpos]
    products_t = pd.DataFrame({"unit": "", "region": reg_p, "name": base_p}, index=pd.Index(pid, dtype=object))
    activities_t = pd.DataFrame(
        {
            "region": np.concatenate([reg_p, np.array([regions[i] for i in fr], dtype=object).repeat(k)]),
            "name": np.concatenate([base_p, np.tile(np.array([prods[i] for i in tpos], dtype=object), m)]),
            "capacity": np.inf,
            "kind": np.concatenate([np.full(P, "production", dtype=object), np.full(T, "trade", dtype=object)]),
        },
        index=pd.Index(pid + tid, dtype=object),
    )
    fids = [f"{r}{REGION_SEPARATOR}labour" for r in regions] + [f"{pair_lab[i]}{REGION_SEPARATOR}shipping" for i in limited]
    factors_t = pd.DataFrame(
        {
            "unit": [resource_unit] * R + ["units shipped"] * len(limited),
            "name": [resource] * R + ["limit on units shipped"] * len(limited),
            "available": [float(available[r]) for r in regions] + [float(costs["limit"].iloc[i]) for i in limited],
        },
        index=pd.Index(fids, dtype=object),
    )
    econ = Economy(
        products=products_t,
        activities=activities_t,
        factors=factors_t,
        use=use_all,
        make=make_all,
        factor_use=fu,
        name=name,
        meta={**(meta or {}), "resource": resource},
    )
    return World(
        economy=econ,
        regions=tuple(regions),
        products=tuple(prods),
        tradable=tuple(trad),
        trade_costs=costs,
        resource=resource,
        name=name,
        meta=dict(meta or {}),
    )


def world_from_mrio(
    economy: Economy,
    labour: pd.Series | None = None,
    *,
    factor: str = "value_added_and_adjustments",
    available: pd.Series | Mapping[str, float] | None = None,
    **kw: Any,
) -> World:
    """A world from a multi-regional input-output economy (e.g. the WIOD world table).

    Each region's technique of product ``j``: ``a_r[i, j] = sum_s A[(s, i), (r, j)]``,
    the inputs of the column summed over their regions of origin (an imported
    input is attributed to the same product of the using region, which is what it
    must make for itself in autarky). Labour per unit: ``labour`` (per
    region-sector, e.g. hours) over gross output, or, without it, the factor
    ``factor`` (value added) over gross output, clipped at 0, as a *proxy* named
    in the result. A region-sector with no output takes its sector's
    output-weighted world technique and labour. Labour supply per region: its
    base-year total unless ``available`` says otherwise.
    """
    if economy.levels is None:
        raise SchemaError(f"economy {economy.name!r} has no gross output (levels): cannot form techniques")
    regions = list(economy.regions)
    if not regions:
        raise SchemaError(f"economy {economy.name!r} has no regions; a world needs a multi-regional table")
    preg = economy.products["region"].to_numpy(dtype=object)
    base = np.array([p.split(REGION_SEPARATOR, 1)[1] for p in economy.product_ids], dtype=object)
    prods = list(pd.unique(base))
    n = len(prods)
    pos = {p: i for i, p in enumerate(prods)}
    bi = np.array([pos[b] for b in base])
    ri = np.array([regions.index(r) for r in preg])
    x = economy.x.to_numpy()
    A = economy.A.tocoo()
    # aggregate rows over origin: (product of origin row, column)
    Ag = sp.csr_array((A.data, (bi[A.row], A.col)), shape=(n, len(x)))
    if labour is not None:
        lab_total = labour.reindex(economy.product_ids).fillna(0.0).to_numpy(dtype=float)
        resource = str(kw.pop("resource", "labour"))
    else:
        if factor not in economy.factor_ids:
            raise UnknownIdError(f"factor {factor!r} is not in economy {economy.name!r}; name the value-added row")
        lab_total = np.maximum(
            np.asarray(economy.factor_use[[economy.factor_ids.get_loc(factor)], :].todense()).ravel() * economy.levels.to_numpy(), 0.0
        )
        resource = str(kw.pop("resource", "value added (proxy for labour)"))
        # the proxy is counted in the table's money (the factor row's unit), not in hours
        kw.setdefault("resource_unit", str(economy.factors.at[factor, "unit"] or "value added"))
    lab = np.divide(lab_total, x, out=np.zeros_like(x), where=x > 0)
    # world average technique of each sector (output-weighted) for region-sectors without output
    W = sp.csr_array((np.ones(len(x)), (bi, np.arange(len(x)))), shape=(n, len(x)))  # sector indicator
    tot = np.bincount(bi, weights=x, minlength=n)
    avgA = (Ag @ sp.diags_array(x) @ W.T).toarray() / np.where(tot > 0, tot, 1.0)
    avgL = np.bincount(bi, weights=lab_total, minlength=n) / np.where(tot > 0, tot, 1.0)
    use: dict[str, Any] = {}
    labv: dict[str, np.ndarray] = {}
    supply: dict[str, float] = {}
    filled = []
    for k, r in enumerate(regions):
        cols = np.flatnonzero(ri == k)
        order = bi[cols]
        M = np.zeros((n, n))
        M[:, order] = Ag[:, cols].toarray()
        lv = np.zeros(n)
        lv[order] = lab[cols]
        xr = np.zeros(n)
        xr[order] = x[cols]
        zero = xr <= 0
        if zero.any():
            M[:, zero] = avgA[:, zero]
            lv[zero] = avgL[zero]
            filled.extend(f"{r}/{prods[i]}" for i in np.flatnonzero(zero))
        use[r] = sp.csr_array(M)
        labv[r] = lv
        supply[r] = float(lab_total[cols].sum())
    if available is not None:
        supply.update({str(k): float(v) for k, v in dict(available).items()})
    meta = {
        "source": economy.meta.get("source", economy.name),
        "resource": resource,
        "imported_inputs": "attributed to the same product of the using region (column summed over origins)",
        "filled_with_world_average": filled,
    }
    return build_world(prods, use, labv, supply, resource=resource, meta=meta, name=kw.pop("name", economy.name), **kw)


def regional_baskets(world: World, baskets: Mapping[str, Any] | pd.DataFrame) -> pd.Series:
    """One basket over the world's products from each region's (region -> product -> amount,
    or a products x regions frame)."""
    if isinstance(baskets, pd.DataFrame):
        baskets = {c: baskets[c] for c in baskets.columns}
    out = {}
    for r, b in baskets.items():
        if str(r) not in world.regions:
            raise UnknownIdError(f"basket of region {r!r}: not a region of world {world.name!r}")
        s = (
            b
            if isinstance(b, pd.Series)
            else pd.Series(dict(b) if isinstance(b, Mapping) else b, index=None if isinstance(b, Mapping) else list(world.products))
        )
        for p, v in s.items():
            out[f"{r}{REGION_SEPARATOR}{p}"] = float(v)
    return pd.Series(out, dtype=float)


def world_objective(name: str | object) -> object:
    """The world objectives by name: ``max-min``, ``harmony``, ``labour``."""
    from gosplan.planning.objectives import MaxBasket, MaxHarmony, MinFactor

    if not isinstance(name, str):
        return name
    key = name.lower().replace("_", "-")
    if key in ("max-min", "maxmin", "basket"):
        return MaxBasket()
    if key == "harmony":
        return MaxHarmony()
    if key in ("labour", "labor", "min-labour"):
        return MinFactor()
    raise SchemaError(f"unknown world objective {name!r}; use max-min, harmony or labour")


def region_table(world: World, plan: Any, targets: Any) -> pd.DataFrame:
    """Per region: labour used and available, the basket multiple its net output reaches
    (least over its basket products of (net output - floors) / basket), exports, imports."""
    e = world.economy
    t = targets.resolve(e)
    z = plan.levels.reindex(e.activity_ids).fillna(0.0).to_numpy(dtype=float)
    net = e.make @ z - e.use @ z
    fu = e.factor_use @ z
    preg = e.products["region"].to_numpy(dtype=object)
    kind = e.activities["kind"].to_numpy(dtype=object)
    areg = e.activities["region"].to_numpy(dtype=object)
    rows = []
    for r in world.regions:
        pm = preg == r
        b = t.basket[pm]
        with np.errstate(divide="ignore", invalid="ignore"):
            mult = float(np.min(((net - t.required)[pm])[b > 0] / b[b > 0])) if (b > 0).any() else np.nan
        tm = (kind == "trade") & (areg == r)
        exports = float(z[tm].sum())
        rows.append(
            {
                "region": r,
                "basket_multiple": mult,
                "labour_used": float(fu[e.factor_ids.get_loc(f"{r}{REGION_SEPARATOR}labour")]),
                "labour_available": float(e.factors.loc[f"{r}{REGION_SEPARATOR}labour", "available"]),
                "exports": exports,
            }
        )
    df = pd.DataFrame(rows).set_index("region")
    # imports: units delivered by trade into each region
    tm = kind == "trade"
    if tm.any():
        dest = np.array([a.split(TRADE_SEPARATOR, 1)[1].split(REGION_SEPARATOR, 1)[0] for a in e.activity_ids[tm]], dtype=object)
        df["imports"] = pd.Series(z[tm], index=dest).groupby(level=0).sum().reindex(df.index).fillna(0.0)
    else:
        df["imports"] = 0.0
    return df


# -- planning a world ----------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class WorldPlan:
    """A plan of a world: the :class:`~gosplan.planning.plan.Plan` on the world economy,
    the per-region table, and (decomposed) the rounds of coordination.

    ``rounds``: one row per round (master value, certified bound, gap, bytes moved,
    seconds); ``prices``: rounds x coupling rows (the centre's prices of traded goods
    and shared constraints, round by round); ``proposals``: every region's proposal
    (round, region, kind, its cost, reduced cost, whether the centre took it).
    """

    world: World
    plan: Any
    objective: str
    method: str
    regions: pd.DataFrame
    rounds: pd.DataFrame | None = None
    prices: pd.DataFrame | None = None
    proposals: pd.DataFrame | None = None
    value: float = math.nan
    bound: float = float("nan")
    gap: float = float("nan")
    seconds: float = float("nan")

    @property
    def ok(self) -> bool:
        return bool(self.plan.ok)

    def verify(self, targets: Any, rtol: float = 1e-6) -> Any:
        return self.plan.verify(self.world.economy, targets, rtol=rtol)


def _row_regions(model: Any, world: World) -> np.ndarray:
    e = model.economy
    out = np.empty(model.n_rows, dtype=object)
    out[model.rows["balance"]] = e.products["region"].to_numpy(dtype=object)
    fid = e.factor_ids.to_numpy(dtype=object)
    out[model.rows["factor"]] = np.array([f.split(REGION_SEPARATOR, 1)[0].split(TRADE_SEPARATOR, 1)[0] for f in fid], dtype=object)
    if "harmony" in model.rows:
        K = len(model.breakpoints)
        preg = e.products["region"].to_numpy(dtype=object)[model.fulfilment_products]
        out[model.rows["harmony"]] = np.repeat(preg, K)
    return out


def _column_blocks(model: Any, world: World) -> np.ndarray:
    e = model.economy
    ridx = {r: k for k, r in enumerate(world.regions)}
    cb = np.full(model.n_cols, -1, dtype=np.int64)
    cb[model.cols["levels"]] = [ridx[r] for r in e.activities["region"].to_numpy(dtype=object)]
    # trade activities are the centre's own columns: a region then answers only for its own
    # balances and labour (its tradable balances and labour are the coupling rows it touches),
    # not for its partners' balances too. Each region's proposals live in a space about
    # (1 + partners) times smaller, and Dantzig-Wolfe needs about as many of a region's
    # proposals as that space has dimensions, so the rounds fall several-fold (docs/scale.md);
    # the centre chooses the shipments itself, continuously
    lv = np.arange(model.n_cols)[model.cols["levels"]]
    cb[lv[e.activities["kind"].to_numpy(dtype=object) == "trade"]] = -1
    preg = np.array([ridx[r] for r in e.products["region"].to_numpy(dtype=object)], dtype=np.int64)
    for name in ("fulfilment", "harmony"):
        if name in model.cols:
            cb[model.cols[name]] = preg[model.fulfilment_products]
    if "shortfall" in model.cols:
        cb[model.cols["shortfall"]] = preg[model.shortfall_products]
    return cb


def _split_basket(lp: Any, model: Any, world: World, cb: np.ndarray) -> tuple[Any, np.ndarray]:
    """Give every region its own copy ``t_r`` of the basket multiple, tied by ``t_r >= t``
    (a coupling row per region) to the centre's ``t``: the same optimum, and the
    regions' balances stay local."""
    from gosplan.planning.solver import LinearProgram

    j = model.cols["basket"].start
    A = sp.csc_array(lp.A)
    m, n = A.shape
    R = len(world.regions)
    col = A[:, [j]].tocoo()
    rreg = _row_regions(model, world)
    ridx = {r: k for k, r in enumerate(world.regions)}
    rk = np.array([ridx[rreg[i]] for i in col.row], dtype=np.int64)
    Tk = sp.csc_array((col.data, (col.row, rk)), shape=(m, R))
    A2 = sp.csc_array(A.copy())
    A2 = sp.hstack([A2[:, :j], sp.csc_array((m, 1)), A2[:, j + 1 :], Tk], format="csc")
    link = sp.csc_array(
        (
            np.concatenate([-np.ones(R), np.ones(R)]),
            (np.concatenate([np.arange(R), np.arange(R)]), np.concatenate([np.full(R, j), n + np.arange(R)])),
        ),
        shape=(R, n + R),
    )
    A2 = sp.vstack([A2, link], format="csc")
    lp2 = LinearProgram(
        c=np.concatenate([lp.c, np.zeros(R)]),
        A=A2,
        row_lower=np.concatenate([lp.row_lower, np.zeros(R)]),
        row_upper=np.concatenate([lp.row_upper, np.full(R, np.inf)]),
        col_lower=np.concatenate([lp.col_lower, np.zeros(R)]),
        col_upper=np.concatenate([lp.col_upper, np.full(R, np.inf)]),
        sense=lp.sense,
    )
    return lp2, np.concatenate([cb, np.arange(R)])


def plan_world(
    world: World,
    targets: Any,
    objective: str | object = "max-min",
    *,
    method: str = "monolithic",
    executor: Any = None,
    options: Any = None,
    rel_gap: float = 1e-6,
    max_rounds: int = 500,
    keep_prices: bool = True,
    progress: Any = None,
) -> WorldPlan:
    """Plan a world as one (``method="monolithic"``: one LP on HiGHS) or decomposed by
    region (``"decomposed"``: :func:`gosplan.planning.decompose.dantzig_wolfe`, the
    regions on ``executor``, in this process by default; for Dask see
    :func:`gosplan.scale.world.plan_world_distributed`).

    ``objective``: ``max-min``, ``harmony`` or ``labour`` (or an objective object).
    An impossible world raises :class:`ImpossibleWorldPlanError` naming the regions
    and the limits (from the whole program, the centre or a region's sub-plan).
    """
    from gosplan.planning.optimal import optimal_plan, read_back
    from gosplan.planning.solver import (
        LPResult,
        SolverOptions,
        SolverStatus,
        dual_objective,
        iis_detail,
    )

    opts = options if options is not None else SolverOptions()
    obj = world_objective(objective)
    describe = obj.describe() if hasattr(obj, "describe") else str(obj)
    label = objective if isinstance(objective, str) else describe
    e = world.economy
    if method == "monolithic":
        plan = optimal_plan(e, targets, obj, options=opts, diagnose=False)
        if plan.status in (SolverStatus.INFEASIBLE, SolverStatus.INFEASIBLE_OR_UNBOUNDED):
            from gosplan.planning.model import build_model

            model = build_model(e, targets.resolve(e), **obj.needs(e))
            c, sense = obj.cost(model)
            iis = iis_detail(model.program(c, sense))
            labels = model.row_labels()
            _raise_impossible(world, [f"{labels[i][0]}:{labels[i][1]}" for i in iis.rows], "the whole world program")
        return WorldPlan(world=world, plan=plan, objective=str(label), method=method,
                         regions=region_table(world, plan, targets), value=plan.objective_value,
                         bound=plan.dual_objective, gap=plan.gap, seconds=float(plan.solver.get("seconds", np.nan)))
    if method != "decomposed":
        raise SchemaError(f"unknown world planning method {method!r}; use monolithic or decomposed")
    from gosplan.planning.decompose import dantzig_wolfe
    from gosplan.planning.model import build_model

    t0 = time.perf_counter()
    resolved = targets.resolve(e)
    model = build_model(e, resolved, **obj.needs(e))
    c, sense = obj.cost(model)
    lp = model.program(c, sense)
    cb = _column_blocks(model, world)
    labels = model.row_labels()
    names = [f"{k}:{i}" for k, i in labels]
    lp2, cb2 = (lp, cb)
    if "basket" in model.cols:
        lp2, cb2 = _split_basket(lp, model, world, cb)
        names = names + [f"basket_multiple:{r}" for r in world.regions]
    # each region opens with its plan alone (its own balances, no trade): socialism in one
    # country is the centre's first, feasible mix; for max-min each region maximises its own t_r
    ridx = {r: k for k, r in enumerate(world.regions)}
    owner = np.array([ridx.get(r, -1) for r in _row_regions(model, world)], dtype=np.int64)
    opening = lp2.c.copy()
    if "basket" in model.cols:
        owner = np.concatenate([owner, np.arange(len(world.regions))])
        opening = np.zeros_like(lp2.c)
        opening[lp.shape[1]:] = 1.0  # the regions' own t_r (the program maximises)
    build_seconds = time.perf_counter() - t0
    dec = dantzig_wolfe(lp2, cb2, list(world.regions), executor=executor, rel_gap=rel_gap, max_rounds=max_rounds,
                        row_names=names, keep_prices=keep_prices, progress=progress, row_owner=owner,
                        opening_cost=opening)
    if dec.status == "block_infeasible":
        _raise_impossible(world, dec.info.get("rows", []), f"the sub-plan of region {dec.info.get('block')}",
                          regions=[dec.info.get("block")])
    if dec.status == "error":
        raise ConvergenceError(
            f"the sub-plan of region {dec.info.get('block')!r} ended in a solver error (neither optimal, "
            "unbounded nor infeasible) after "
            f"{len(dec.rounds) - 1} rounds; plan the world with method='monolithic', or report it with the world's data"
        )
    if dec.status == "infeasible":
        rows = [names[i] for i in dec.info["coupling_rows"]]
        _raise_impossible(world, rows, "the centre (phase 1 of the decomposition)", extra=dec.info.get("binding", []))
    n, m = lp.shape[1], lp.shape[0]
    x = dec.x[:n]
    y = dec.row_duals[:m]
    z = lp.c - lp.A.T @ y
    st = SolverStatus.OPTIMAL if dec.status == "optimal" else SolverStatus.ITERATION_LIMIT
    from gosplan.planning.solver import primal_infeasibility

    res = LPResult(
        status=st, x=x, row_duals=y, col_duals=z, row_activity=lp.A @ x, objective=float(lp.c @ x),
        dual_objective=dual_objective(lp, y, z), gap=dec.gap, iterations=len(dec.rounds), seconds=dec.seconds,
        method="dantzig_wolfe", primal_infeasibility=primal_infeasibility(lp, x),
        solver_status=f"decomposition {dec.status}: value {dec.value:.9g}, bound {dec.bound:.9g}, gap {dec.gap:.2e}",
        info={"decomposition": {"value": dec.value, "bound": dec.bound, "gap": dec.gap, "rounds": len(dec.rounds) - 1,
                                "blocks": dec.info.get("blocks"), "coupling_rows": len(dec.coupling)}},
    )
    stage = [{"objective": describe, "sense": sense, "status": str(st), "value": res.objective,
              "dual_value": dec.bound, "seconds": dec.seconds, "iterations": res.iterations}]
    plan = read_back(model, res, sense, obj, opts, build_seconds, stage, None, None, None)
    prices = None
    if keep_prices and dec.prices:
        prices = pd.DataFrame(np.vstack(dec.prices), index=pd.RangeIndex(1, len(dec.prices) + 1, name="round"),
                              columns=pd.Index([names[i] for i in dec.coupling], name="row"))
    return WorldPlan(world=world, plan=plan, objective=str(label), method=method,
                     regions=region_table(world, plan, targets), rounds=dec.rounds, prices=prices,
                     proposals=dec.proposals, value=dec.value, bound=dec.bound, gap=dec.gap, seconds=dec.seconds)


def _raise_impossible(world: World, rows: Sequence[str], where: str, regions: Sequence[str] | None = None,
                      extra: Sequence[str] = ()) -> None:
    regs: list[str] = list(regions or [])
    limits: list[str] = []
    for r in list(rows) + list(extra):
        kind, _, ident = r.partition(":")
        reg = ident.split(REGION_SEPARATOR, 1)[0].split(TRADE_SEPARATOR, 1)[0] if ident else ""
        if reg in world.regions and reg not in regs:
            regs.append(reg)
        if kind in ("factor", "capacity", "trade") and r not in limits:
            limits.append(ident)
    shown = ", ".join(list(rows)[:12])
    raise ImpossibleWorldPlanError(
        f"the world plan is impossible ({where}): regions {regs} cannot meet their floors with their limits "
        f"{limits or '(the floors of the rows below)'}; rows in conflict: {shown}. "
        "Lower those floors or raise those limits (labour supply, trade limits).",
        regions=regs, limits=limits, detail=list(rows),
    )


# -- pooled against alone ---------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class AutarkyComparison:
    """Every region planned alone (autarky) against the world planned as one.

    ``table``: per region, the basket multiple reached alone and pooled (max-min),
    the labour (or its proxy: ``resource``) each region spends to deliver what it
    reaches alone, alone and in the pooled least-labour plan for the same floors,
    and the labour saved; ``total``: the same for the world.
    """

    table: pd.DataFrame
    total: dict[str, float]
    resource: str
    pooled: WorldPlan
    pooled_labour: WorldPlan

    def gains(self) -> pd.Series:
        """Pooled multiple over the multiple alone, per region."""
        return (self.table["multiple_pooled"] / self.table["multiple_alone"]).rename("gain")


#: how far inside each region's own frontier the floors of the labour comparison sit
EDGE = 1e-7


def compare_autarky(
    world: World,
    baskets: pd.Series,
    floors: pd.Series | None = None,
    *,
    method: str = "monolithic",
    executor: Any = None,
    options: Any = None,
) -> AutarkyComparison:
    """The gain from pooling: each region alone against the world planned as one.

    1. Alone: each region's largest multiple ``a_r`` of its own basket, with its own
       techniques and labour and no trade (:meth:`World.region`).
    2. Pooled: the world's max-min multiple ``t`` (every region at least ``t`` times
       its basket); ``t >= min_r a_r`` always (autarky is one of the pooled plans).
    3. Labour for the same floors: each region's least labour to deliver
       ``a_r (1 - EDGE)`` times its basket alone, against the pooled least-labour plan that
       delivers the same to every region; the world total saved is never negative.
    """
    from gosplan.planning.objectives import MaxBasket, MinFactor
    from gosplan.planning.optimal import optimal_plan
    from gosplan.planning.targets import Targets

    b = baskets.astype(float)
    f = floors.astype(float) if floors is not None else pd.Series(dtype=float)
    preg = pd.Series(world.economy.products["region"].to_numpy(dtype=object), index=world.economy.product_ids)
    rows = []
    need = {}
    for r in world.regions:
        e = world.region(r)
        br = b[b.index.isin(e.product_ids)]
        fr = f[f.index.isin(e.product_ids)]
        p = optimal_plan(e, Targets(basket=br, floors=fr), MaxBasket(), options=options or _default_options(), diagnose=False)
        if not p.ok:
            raise ImpossibleWorldPlanError(
                f"region {r!r} alone cannot meet its floors with its labour ({p.status}); lower its floors",
                regions=[r], limits=[f"{r}{REGION_SEPARATOR}labour"],
            )
        a = float(p.basket_multiple)
        # a hair (EDGE) inside each region's frontier, so that rounding at the edge of what it
        # can do alone does not make its own floor impossible
        floors_r = fr.add(a * (1.0 - EDGE) * br, fill_value=0.0)
        need[r] = floors_r
        q = optimal_plan(e, Targets(floors=floors_r), MinFactor(), options=options or _default_options(), diagnose=False)
        if not q.ok:
            raise ImpossibleWorldPlanError(f"region {r!r}: its least-labour plan for what it reaches alone ended {q.status}",
                                           regions=[r], limits=[f"{r}{REGION_SEPARATOR}labour"])
        rows.append({"region": r, "multiple_alone": a, "labour_alone": float(q.objective_value)})
    table = pd.DataFrame(rows).set_index("region")
    pooled = plan_world(world, Targets(basket=b, floors=f), "max-min", method=method, executor=executor, options=options)
    table["multiple_pooled"] = pooled.regions["basket_multiple"].reindex(table.index)
    table["multiple_common"] = pooled.plan.basket_multiple
    same = pd.concat(list(need.values()))
    pl = plan_world(world, Targets(floors=same), "labour", method=method, executor=executor, options=options)
    table["labour_pooled"] = pl.regions["labour_used"].reindex(table.index)
    table["labour_saved"] = table["labour_alone"] - table["labour_pooled"]
    table["labour_available"] = world.labour_available.reindex(table.index)
    total = {
        "smallest_multiple_alone": float(table["multiple_alone"].min()),
        "multiple_pooled": float(pooled.plan.basket_multiple),
        "labour_alone": float(table["labour_alone"].sum()),
        "labour_pooled": float(table["labour_pooled"].sum()),
        "labour_saved": float(table["labour_saved"].sum()),
        "labour_available": float(table["labour_available"].sum()),
    }
    total["labour_saved_share"] = total["labour_saved"] / total["labour_alone"] if total["labour_alone"] else math.nan
    _ = preg
    return AutarkyComparison(table=table, total=total, resource=world.resource, pooled=pooled, pooled_labour=pl)


def _default_options() -> Any:
    from gosplan.planning.solver import SolverOptions

    return SolverOptions()


# -- a world as tables ----------------------------------------------------------------


def world_to_tables(world: World, baskets: pd.Series | None = None) -> dict[str, pd.DataFrame]:
    """The inputs of a world (not its built economy) as three long tables:
    ``techniques`` (region, input, product, coefficient), ``regions`` (region, product,
    labour coefficient, basket) and ``supply`` (region, available, resource)."""
    e = world.economy
    prod = e.activities["kind"].to_numpy(dtype=object) == "production"
    U = sp.csr_array(e.use[:, np.flatnonzero(prod)]).tocoo()
    pid = e.product_ids.to_numpy(dtype=object)
    aid = e.activity_ids.to_numpy(dtype=object)[prod]
    areg = e.activities["region"].to_numpy(dtype=object)[prod]
    tech = pd.DataFrame({
        "region": areg[U.col],
        "input": [p.split(REGION_SEPARATOR, 1)[1] for p in pid[U.row]],
        "product": [a.split(REGION_SEPARATOR, 1)[1] for a in aid[U.col]],
        "coefficient": U.data,
    })
    lab = e.factor_use[: len(world.regions)][:, np.flatnonzero(prod)]
    lab_coef = np.asarray(lab.sum(axis=0)).ravel()
    regions = pd.DataFrame({
        "region": areg,
        "product": [a.split(REGION_SEPARATOR, 1)[1] for a in aid],
        "labour": lab_coef,
        "basket": 0.0 if baskets is None else baskets.reindex(aid).fillna(0.0).to_numpy(dtype=float),
    })
    unit = world.economy.factors["unit"].iloc[0] if len(world.economy.factors) else ""
    supply = pd.DataFrame({"region": list(world.regions), "available": world.labour_available.to_numpy(),
                           "resource": world.resource, "resource_unit": unit})
    return {"techniques": tech, "regions": regions, "supply": supply}


def world_from_tables(tables: Mapping[str, pd.DataFrame], name: str = "world", **kw: Any) -> tuple[World, pd.Series]:
    """A world and its regions' baskets from :func:`world_to_tables`' three tables."""
    tech, reg, sup = tables["techniques"], tables["regions"], tables["supply"]
    prods = list(pd.unique(reg["product"].astype(str)))
    pos = {p: i for i, p in enumerate(prods)}
    n = len(prods)
    use, lab, av = {}, {}, {}
    resource = str(sup["resource"].iloc[0]) if "resource" in sup.columns and len(sup) else "labour"
    if "resource_unit" in sup.columns and len(sup):
        kw.setdefault("resource_unit", str(sup["resource_unit"].iloc[0]))
    for r in sup["region"].astype(str):
        t = tech[tech["region"].astype(str) == r]
        use[r] = sp.csr_array((t["coefficient"].to_numpy(dtype=float),
                               (t["input"].map(pos).to_numpy(), t["product"].map(pos).to_numpy())), shape=(n, n))
        g = reg[reg["region"].astype(str) == r]
        v = np.zeros(n)
        v[g["product"].map(pos).to_numpy()] = g["labour"].to_numpy(dtype=float)
        lab[r] = v
    av = dict(zip(sup["region"].astype(str), sup["available"].astype(float), strict=True))
    w = build_world(prods, use, lab, av, resource=resource, name=name, **kw)
    ids = reg["region"].astype(str) + REGION_SEPARATOR + reg["product"].astype(str)
    basket = pd.Series(reg["basket"].to_numpy(dtype=float), index=pd.Index(ids, dtype=object))
    return w, basket[basket > 0]


def load_world(name: str = "wiod_2011", **kw: Any) -> tuple[World, pd.Series]:
    """A shipped world by name and its regions' baskets (``wiod_2011``: the WIOD 2013
    release's world table of 2011, 41 regions x 35 sectors; see its PROVENANCE.md)."""
    from gosplan import datasets

    folder = datasets.resolve(name, "world")
    tables = {k: pd.read_parquet(folder / f"{k}.parquet") for k in ("techniques", "regions", "supply")}
    return world_from_tables(tables, name=name, **kw)


def world_comparison(name: str = "wiod_2011", *, method: str = "monolithic", executor: Any = None) -> AutarkyComparison:
    """The seed's question on a shipped world: every region alone against the world planned as
    one (:func:`compare_autarky` with each region's shipped basket). For a report section:
    ``cmp.table``, ``cmp.total``, ``cmp.resource`` (say it is a proxy where it is) and the chart
    :func:`gosplan.plots.world_gains_chart` of ``cmp.table``."""
    w, basket = load_world(name)
    return compare_autarky(w, basket, method=method, executor=executor)
