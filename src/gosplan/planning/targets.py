"""What a plan must or should deliver: `Targets`.

Targets are labelled (pandas) and say, per product: a *floor* of final demand the
plan must meet; a *basket* to deliver as many times over as possible (or to
fulfil as well as possible, product by product); *public goods*, delivered in
fixed amount whatever multiple of the basket the plan reaches; and *weights*
(priorities) per product or per named group of products. Products may be named
per region: a ``region`` column (or a (region, product) index) becomes the
economy's ``REGION/product`` id. Targets are checked against an economy with
:meth:`Targets.resolve`, which names every unknown product.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from gosplan.economy import REGION_SEPARATOR, Economy
from gosplan.errors import SchemaError, SourceError, UnknownIdError

_KINDS = ("floors", "basket", "public", "weights")
_COLUMNS = {"floor": "floors", "basket": "basket", "public": "public", "weight": "weights"}


def _series(values: Any, what: str) -> pd.Series:
    """A float Series with string ids; a (region, product) MultiIndex is joined."""
    if values is None:
        return pd.Series(dtype=float)
    if isinstance(values, pd.DataFrame):
        if values.shape[1] != 1:
            raise SchemaError(f"targets.{what}: give one column of values, not {values.shape[1]}")
        values = values.iloc[:, 0]
    s = values if isinstance(values, pd.Series) else pd.Series(dict(values) if isinstance(values, Mapping) else values)
    if isinstance(s.index, pd.MultiIndex):
        if s.index.nlevels != 2:
            raise SchemaError(f"targets.{what}: a multi-level index must be (region, product)")
        ids = [f"{r}{REGION_SEPARATOR}{p}" if str(r) else str(p) for r, p in s.index]
    else:
        ids = [str(i) for i in s.index]
    try:
        out = pd.Series(pd.to_numeric(s.to_numpy(), errors="raise"), index=pd.Index(ids, dtype=object), dtype=float)
    except (ValueError, TypeError) as exc:
        raise SchemaError(f"targets.{what}: every value must be a number ({exc})") from None
    dup = out.index[out.index.duplicated()].unique()
    if len(dup):
        raise SchemaError(f"targets.{what}: product(s) {list(dup[:10])} appear more than once; give each once")
    bad = ~np.isfinite(out.to_numpy())
    if bad.any():
        raise SchemaError(f"targets.{what}: value of {out.index[bad][0]!r} is not finite; give a number")
    out.index.name = "product"
    out.name = what
    return out


@dataclass(frozen=True)
class ResolvedTargets:
    """Targets as plain arrays in the economy's product order."""

    floor: np.ndarray
    basket: np.ndarray
    public: np.ndarray
    weight: np.ndarray

    @property
    def required(self) -> np.ndarray:
        """What final demand takes whatever the objective: floors plus public goods."""
        return self.floor + self.public

    @property
    def has_basket(self) -> bool:
        return bool((self.basket > 0).any())


@dataclass(frozen=True, eq=False)
class Targets:
    """Final-demand floors, a basket, public goods and priorities, per product.

    Parameters
    ----------
    floors : product -> the least net output final demand must receive (may be
        negative: a draw on stocks or net imports).
    basket : product -> amount of one unit of the basket (>= 0). The basket
        objective maximises the multiple ``t`` of it delivered on top of the floors;
        the harmony objective measures the fulfilment of each product against it.
    public : product -> public goods delivered in this fixed amount (>= 0), counted
        in the balances like floors, never scaled with the basket.
    weights : product or group -> priority (>= 0) in the weighted objectives; a
        product's own weight wins over its group's; default 1.
    groups : product -> group name, for group weights.
    """

    floors: pd.Series = field(default_factory=lambda: pd.Series(dtype=float))
    basket: pd.Series = field(default_factory=lambda: pd.Series(dtype=float))
    public: pd.Series = field(default_factory=lambda: pd.Series(dtype=float))
    weights: pd.Series = field(default_factory=lambda: pd.Series(dtype=float))
    groups: pd.Series = field(default_factory=lambda: pd.Series(dtype=object))
    name: str = ""

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        for kind in _KINDS:
            s = _series(getattr(self, kind), kind)
            if kind != "floors" and (s.to_numpy() < 0).any():
                bad = s.index[s.to_numpy() < 0][0]
                raise SchemaError(f"targets.{kind}: value of {bad!r} is {s[bad]!r}; it must be >= 0")
            set_(self, kind, s)
        g = self.groups
        if g is None:
            g = pd.Series(dtype=object)
        if not isinstance(g, pd.Series):
            g = pd.Series(dict(g))
        g = pd.Series([str(v) for v in g.to_numpy()], index=pd.Index([str(i) for i in g.index], dtype=object), dtype=object)
        g.index.name = "product"
        set_(self, "groups", g)

    # -- constructors ----------------------------------------------------------
    @classmethod
    def from_frame(cls, frame: pd.DataFrame, name: str = "") -> Targets:
        """Targets from a table with a ``product`` column (or index), an optional
        ``region`` column and any of ``floor``, ``basket``, ``public``, ``weight``,
        ``group``. Empty cells mean "no target of this kind"."""
        df = frame.copy()
        if "product" not in df.columns:
            df = df.reset_index()
            first = df.columns[0]
            df = df.rename(columns={first: "product"})
        known = {"product", "region", "group", *_COLUMNS}
        unknown = [c for c in df.columns if c not in known]
        if unknown:
            raise SchemaError(
                f"targets: unknown column(s) {unknown}; use product, region, floor, basket, public, weight, group"
            )
        if not any(c in df.columns for c in _COLUMNS):
            raise SchemaError("targets: the table has none of the columns floor, basket, public, weight")
        prod = df["product"].astype(str)
        if "region" in df.columns:
            reg = df["region"].fillna("").astype(str)
            prod = pd.Series(
                [f"{r}{REGION_SEPARATOR}{p}" if r else p for r, p in zip(reg, prod, strict=True)], index=df.index
            )
        df.index = pd.Index(prod.to_numpy(), dtype=object)
        kwargs: dict[str, Any] = {}
        for col, kind in _COLUMNS.items():
            if col in df.columns:
                values = pd.to_numeric(df[col], errors="coerce")
                bad = df[col].notna() & values.isna()
                if bad.any():
                    row = int(np.flatnonzero(bad.to_numpy())[0])
                    raise SchemaError(
                        f"targets: column {col!r}, row {row + 1} (product {df.index[row]!r}): "
                        f"{df[col].iloc[row]!r} is not a number"
                    )
                kwargs[kind] = values[values.notna()]
        if "group" in df.columns:
            kwargs["groups"] = df["group"][df["group"].notna()]
        return cls(name=name, **kwargs)

    @classmethod
    def read_csv(cls, path: str | Path) -> Targets:
        """Targets from a CSV file laid out as :meth:`from_frame` expects."""
        p = Path(path)
        try:
            df = pd.read_csv(p, dtype={"product": str, "region": str, "group": str})
        except FileNotFoundError:
            raise SourceError(f"{p}: targets file not found") from None
        except (pd.errors.ParserError, UnicodeDecodeError) as exc:
            raise SourceError(f"{p}: cannot read as CSV ({exc})") from None
        try:
            return cls.from_frame(df, name=p.stem)
        except SchemaError as exc:
            raise SchemaError(f"{p}: {exc}") from None

    @classmethod
    def final_demand(cls, economy: Economy, column: str | None = None, scale: float = 1.0) -> Targets:
        """Floors equal to the economy's own final demand (one category or all summed)."""
        Y = economy.Y
        d = Y.sum(axis=1) if column is None else Y[column]
        return cls(floors=d * scale, name=f"final demand{'' if column is None else ' ' + column}")

    def to_frame(self) -> pd.DataFrame:
        """One row per product named anywhere, one column per kind of target."""
        cols = {c: getattr(self, k) for c, k in _COLUMNS.items()}
        df = pd.DataFrame(cols)
        if len(self.groups):
            df["group"] = self.groups
        df.index.name = "product"
        return df

    # -- checking against an economy ---------------------------------------------
    def resolve(self, economy: Economy) -> ResolvedTargets:
        """Arrays in the economy's product order; unknown ids raise
        :class:`~gosplan.errors.UnknownIdError` naming them."""
        ids = economy.product_ids
        P = len(ids)
        out: dict[str, np.ndarray] = {}
        for kind in ("floors", "basket", "public"):
            s: pd.Series = getattr(self, kind)
            unknown = s.index.difference(ids)
            if len(unknown):
                raise UnknownIdError(
                    f"targets.{kind}: product(s) {list(map(str, unknown[:10]))} are not in economy "
                    f"{economy.name!r}; check the spelling (and the REGION/ prefix) against its products"
                )
            arr = np.zeros(P)
            if len(s):
                arr[ids.get_indexer(s.index)] = s.to_numpy()
            out[kind] = arr
        unknown_g = self.groups.index.difference(ids)
        if len(unknown_g):
            raise UnknownIdError(f"targets.groups: product(s) {list(map(str, unknown_g[:10]))} are not in the economy")
        w = np.ones(P)
        if len(self.weights):
            group_names = set(self.groups.to_numpy())
            keys = self.weights.index
            is_prod = keys.isin(ids)
            is_group = keys.isin(list(group_names))
            unknown_w = keys[~is_prod & ~is_group]
            if len(unknown_w):
                raise UnknownIdError(
                    f"targets.weights: {list(map(str, unknown_w[:10]))} name neither a product of the economy "
                    "nor a group of the targets"
                )
            if is_group.any() and len(self.groups):
                gw = self.weights[is_group & ~is_prod]
                member_w = self.groups.map(gw).dropna()
                if len(member_w):
                    w[ids.get_indexer(member_w.index)] = member_w.to_numpy(dtype=float)
            pw = self.weights[is_prod]
            if len(pw):
                w[ids.get_indexer(pw.index)] = pw.to_numpy()
        return ResolvedTargets(floor=out["floors"], basket=out["basket"], public=out["public"], weight=w)
