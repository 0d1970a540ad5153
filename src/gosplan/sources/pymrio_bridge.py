"""Bridge to pymrio: every table pymrio parses (WIOD, EXIOBASE, OECD ICIO, Eora) becomes an Economy.

pymrio labels region-sectors by a (region, sector) MultiIndex; gosplan by one id
``"region/sector"`` with a ``region`` column. Final-demand columns become
``"region/category"``, and every stressor of every extension becomes a factor
``"extension:stressor"`` (MultiIndex levels joined with ``:``). Coefficients are
taken as pymrio holds them (``A`` and ``S`` where computed), so a round trip
through pymrio is exact; where only flows are present they are divided by ``x``.

Direct factor use of final demand (pymrio's ``F_Y``: households' own emissions)
is no activity's: it becomes the economy's ``final_demand_factor_use`` (factors x
final-demand categories), so that consumption- and production-based accounts
include it as pymrio's do; its totals stay in ``meta["F_Y_total"]`` as before.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from gosplan.economy import REGION_SEPARATOR, Economy, from_coefficients
from gosplan.errors import SchemaError, require

EXTENSION_SEPARATOR = ":"


def _ids(index: pd.Index) -> pd.Index:
    if isinstance(index, pd.MultiIndex):
        return pd.Index([REGION_SEPARATOR.join(map(str, t)) for t in index], dtype=object)
    return pd.Index([str(i) for i in index], dtype=object)


def _stressor_ids(extension_name: str, index: pd.Index) -> pd.Index:
    parts = [t if isinstance(t, tuple) else (t,) for t in index]
    return pd.Index([EXTENSION_SEPARATOR.join([extension_name, *map(str, t)]) for t in parts], dtype=object)


def from_pymrio(io: Any, extensions: list[str] | None = None, name: str | None = None) -> Economy:
    """An Economy from a ``pymrio.IOSystem``.

    Parameters
    ----------
    io : pymrio.IOSystem with ``Z`` or ``A``, and ``x`` or enough to compute it.
    extensions : names of the extensions whose stressors become factors (default: all).
    """
    if getattr(io, "A", None) is None and getattr(io, "Z", None) is None:
        raise SchemaError("pymrio system has neither Z nor A; load or compute one (io.calc_system())")
    x = io.x if getattr(io, "x", None) is not None else None
    if x is None:
        pymrio = require("pymrio", "mrio")
        if io.Z is not None and io.Y is not None:
            x = pymrio.calc_x(io.Z, io.Y)
        else:
            raise SchemaError("pymrio system has no x and no Z and Y to compute it; run io.calc_system() first")
    xv = np.asarray(x, dtype=float).ravel()
    index = io.A.index if getattr(io, "A", None) is not None else io.Z.index
    if getattr(io, "A", None) is not None:
        A = io.A.to_numpy(dtype=float)
    else:
        inv = np.divide(1.0, xv, out=np.zeros_like(xv), where=xv != 0)
        A = io.Z.to_numpy(dtype=float) * inv[None, :]
    ids = _ids(index)
    regions = [str(t[0]) if isinstance(t, tuple) else "" for t in index]
    sectors = [str(t[-1]) if isinstance(t, tuple) else str(t) for t in index]
    units = [""] * len(ids)
    if getattr(io, "unit", None) is not None and "unit" in io.unit.columns:
        u = io.unit["unit"].reindex(index)
        units = [str(v) if pd.notna(v) else "" for v in u]
    products = pd.DataFrame({"unit": units, "region": regions, "name": sectors}, index=ids)

    B_parts, fac_ids, fac_units, fy_total, fy_parts = [], [], [], {}, []
    for ext in io.get_extensions(data=True):
        if extensions is not None and ext.name not in extensions:
            continue
        if getattr(ext, "S", None) is not None:
            S = ext.S.reindex(columns=index).to_numpy(dtype=float)
            sindex = ext.S.index
        elif getattr(ext, "F", None) is not None:
            inv = np.divide(1.0, xv, out=np.zeros_like(xv), where=xv != 0)
            S = ext.F.reindex(columns=index).to_numpy(dtype=float) * inv[None, :]
            sindex = ext.F.index
        else:
            continue
        fid = _stressor_ids(ext.name, sindex)
        B_parts.append(S)
        fac_ids.extend(fid)
        if getattr(ext, "unit", None) is not None and "unit" in ext.unit.columns:
            fac_units.extend(str(v) for v in ext.unit["unit"].reindex(sindex))
        else:
            fac_units.extend([""] * len(fid))
        if getattr(ext, "F_Y", None) is not None:
            for k, v in zip(fid, ext.F_Y.sum(axis=1).to_numpy()):
                fy_total[k] = float(v)
            fy = ext.F_Y.reindex(index=sindex)
            fy_parts.append(pd.DataFrame(fy.to_numpy(dtype=float), index=fid, columns=_ids(fy.columns)))
    B = np.vstack(B_parts) if B_parts else np.zeros((0, len(ids)))
    if len(set(fac_ids)) != len(fac_ids):
        raise SchemaError("pymrio extensions share stressor names; rename one extension")
    # accounting rows (value added, taxes) may be negative: declare them signed
    factors = pd.DataFrame({"unit": fac_units, "signed": (B < 0).any(axis=1)}, index=pd.Index(fac_ids, dtype=object))

    Y = None
    if getattr(io, "Y", None) is not None:
        Y = pd.DataFrame(io.Y.to_numpy(dtype=float), index=ids, columns=_ids(io.Y.columns))
    meta = {"source": "pymrio", "pymrio_name": str(getattr(io, "name", "")), "year": str(getattr(io, "year", ""))}
    if fy_total:
        meta["F_Y_total"] = fy_total
    return from_coefficients(
        A,
        B,
        products=products,
        factors=factors,
        final_demand=Y,
        levels=pd.Series(xv, index=ids),
        name=name if name is not None else str(getattr(io, "name", "") or "pymrio"),
        meta=meta,
        final_demand_factor_use=pd.concat(fy_parts).fillna(0.0) if fy_parts and Y is not None else None,
    )


def to_pymrio(economy: Economy, extension: str = "factors") -> Any:
    """A ``pymrio.IOSystem`` from a symmetric Economy (one activity per product).

    Sets ``Z``, ``A``, ``x`` and ``Y`` and one extension with ``F``, ``S`` (and ``F_Y``
    from ``final_demand_factor_use``, if the economy has it). Product
    ids without a region go to a region named after the economy.
    """
    pymrio = require("pymrio", "mrio")
    A = economy.A.toarray()
    default_region = economy.name or "region"
    regions = [r or default_region for r in economy.products["region"]]
    sectors = [
        pid.split(REGION_SEPARATOR, 1)[1] if r and pid.startswith(r + REGION_SEPARATOR) else pid
        for pid, r in zip(economy.product_ids, economy.products["region"])
    ]
    index = pd.MultiIndex.from_arrays([regions, sectors], names=["region", "sector"])
    if index.duplicated().any():
        raise SchemaError(f"to_pymrio: product {economy.product_ids[index.duplicated()][0]!r} maps to a duplicate (region, sector)")
    x = economy.x.to_numpy() if economy.levels is not None else None
    if x is None:
        raise SchemaError("to_pymrio needs base-year gross output (levels)")
    Adf = pd.DataFrame(A, index=index, columns=index)
    Z = Adf * x[None, :]
    xdf = pd.DataFrame({"indout": x}, index=index)
    Y = None
    if economy.final_demand is not None:
        cols = [c.split(REGION_SEPARATOR, 1) if REGION_SEPARATOR in c else [default_region, c] for c in economy.final_demand.columns]
        Y = pd.DataFrame(
            economy.final_demand.to_numpy(),
            index=index,
            columns=pd.MultiIndex.from_tuples([tuple(c) for c in cols], names=["region", "category"]),
        )
    unit = pd.DataFrame({"unit": economy.products["unit"].to_numpy()}, index=index)
    io = pymrio.IOSystem(Z=Z, A=Adf, x=xdf, Y=Y, unit=unit, name=economy.name or "gosplan")
    # factors named "extension:stressor[:compartment]" go back to their extension
    groups: dict[str, list[int]] = {}
    for k, fid in enumerate(economy.factor_ids):
        groups.setdefault(fid.split(EXTENSION_SEPARATOR, 1)[0] if EXTENSION_SEPARATOR in fid else extension, []).append(k)
    B = economy.B.toarray()
    for ext_name, rows in groups.items():
        names = [economy.factor_ids[k] for k in rows]
        parts = [n.split(EXTENSION_SEPARATOR)[1:] if n.startswith(ext_name + EXTENSION_SEPARATOR) else [n] for n in names]
        if len({len(p) for p in parts}) == 1 and len(parts[0]) > 1:
            sindex = pd.MultiIndex.from_tuples([tuple(p) for p in parts])
        else:
            sindex = pd.Index([EXTENSION_SEPARATOR.join(p) for p in parts], name="stressor")
        S = pd.DataFrame(B[rows], index=sindex, columns=index)
        F_Y = None
        if economy.final_demand_factor_use is not None:  # households' own emissions go back as F_Y
            F_Y = pd.DataFrame(economy.final_demand_factor_use.to_numpy()[rows], index=sindex, columns=Y.columns)
        ext = pymrio.Extension(
            name=ext_name,
            F=S * x[None, :],
            S=S,
            F_Y=F_Y,
            unit=pd.DataFrame({"unit": economy.factors["unit"].to_numpy()[rows]}, index=sindex),
        )
        setattr(io, ext_name.replace(" ", "_"), ext)
    return io
