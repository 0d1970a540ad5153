"""Readers for the layouts in which statistical offices publish input-output tables.

Each reader turns one published layout into an :class:`~gosplan.economy.Economy`
and checks the table's own balances, so that a number in gosplan can be traced
to a cell of the source file:

* ONS United Kingdom Input-Output Analytical Tables (product x product, CSV export);
* WIOD national input-output tables (November 2016 release, ``*_NIOT_nov16.xlsx``)
  with the matching Socio-Economic Accounts for hours and persons engaged;
* the WIOD 2013 world input-output table in long form (region-sector flows).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp

from gosplan.economy import BALANCE_RTOL, Economy, check_balance, from_flows
from gosplan.errors import SourceError
from gosplan.sources.tables import EXACT_FLOATS

_ONS_FACTORS = {
    "Imported goods and services": ("imports", False),
    "Taxes less subsidies on products": ("taxes_on_products", True),
    "Taxes less subsidies on production": ("taxes_on_production", True),
    "Compensation of employees": ("compensation", False),
    "Gross Operating Surplus": ("operating_surplus", True),
}
_ONS_FINAL = [
    "Households",
    "Non-profit instns serving households",
    "Central government",
    "Local government",
    "Gross fixed capital formation",
    "Valuables",
    "Changes in inventories",
    "Exports of goods",
    "Exports of services",
]


def _read_csv(path: Path, **kw) -> pd.DataFrame:
    if not path.exists():
        raise SourceError(f"{path}: no such file")
    try:
        return pd.read_csv(path, **EXACT_FLOATS, **kw)
    except (ValueError, OSError) as exc:
        raise SourceError(f"{path}: cannot be read as CSV: {exc}") from exc


def read_ons_iot(path: str | os.PathLike, labels: str | os.PathLike | None = None, rtol: float = BALANCE_RTOL) -> Economy:
    """The ONS UK Input-Output Analytical Tables (domestic use, basic prices, product x product).

    Rows are the products (first column ``row_code``), then ``Total consumption`` and
    the primary inputs; columns the products, ``Total intermediate demand``, the final
    demand categories and ``Total demand``; the ``Total output`` row gives ``x``.
    Primary inputs become factors in GBP million: imports, compensation of employees,
    and the signed rows taxes less subsidies and gross operating surplus. Both the row
    and the column balances are checked.
    """
    path = Path(path)
    df = _read_csv(path, dtype={"row_code": str}).set_index("row_code")
    try:
        products = list(df.columns[: df.columns.get_loc("Total intermediate demand")])
        x = df.loc["Total output", products].astype(float)
    except KeyError as exc:
        raise SourceError(f"{path}: not an ONS analytical table: missing {exc}") from exc
    missing = [p for p in products if p not in df.index]
    if missing:
        raise SourceError(f"{path}: product column(s) {missing[:5]} have no row")
    Z = df.loc[products, products].astype(float)
    Y = df.loc[products, _ONS_FINAL].astype(float)
    fac = df.loc[list(_ONS_FACTORS), products].astype(float)
    fac.index = [v[0] for v in _ONS_FACTORS.values()]
    economy = from_flows(
        Z,
        x,
        fac,
        Y,
        units="GBP million",
        factor_units={f: "GBP million" for f in fac.index},
        signed=[v[0] for v in _ONS_FACTORS.values() if v[1]],
        balance="both",
        rtol=rtol,
        name="uk_2010",
        meta={"source": str(path.name), "year": 2010, "units": "GBP million, basic prices"},
    )
    if labels is not None:
        lab = _read_csv(Path(labels), dtype={"code": str})
        # one label holds a stray control character (0x1A) where a separator was meant
        names = lab[lab["axis"] == "row"].set_index("code")["label"].str.replace(r"\s*[\x00-\x1f]\s*", " - ", regex=True)
        table = economy.products.copy()
        table["name"] = [str(names.get(p, "")) for p in table.index]
        import dataclasses

        economy = dataclasses.replace(economy, products=table, activities=table[["region", "name"]].assign(capacity=np.inf))
    return economy


_WIOD_MONEY_ROWS = ["TXSP", "EXP_adj", "PURR", "PURNR", "VA", "IntTTM"]
_WIOD_FINAL = ["CONS_h", "CONS_np", "CONS_g", "GFCF", "INVEN", "EXP"]
_SEA_FACTORS = {"H_EMPE": ("hours", "million hours worked by employees"), "EMP": ("persons", "thousand persons engaged")}


def read_wiod_niot(
    path: str | os.PathLike, year: int, sea: str | os.PathLike | None = None, rtol: float = BALANCE_RTOL
) -> Economy:
    """One year of a WIOD 2016 national input-output table (``*_NIOT_nov16.xlsx``).

    Domestic flows give ``A``; imported intermediate inputs (the ``Imports`` rows,
    summed per column) and the ``TOT`` rows (taxes less subsidies on products, cif/fob
    adjustment, purchases abroad, value added, international transport margins) are
    factors in USD million. With the Socio-Economic Accounts file ``sea`` the hours
    worked by employees (``H_EMPE``) and persons engaged (``EMP``) are added as labour
    factors. Rows and money columns are checked to balance (Timmer et al. 2015).
    """
    path = Path(path)
    try:
        raw = pd.read_excel(path, sheet_name="National IO-tables", header=None)
    except (ValueError, OSError) as exc:
        raise SourceError(f"{path}: cannot read sheet 'National IO-tables': {exc}") from exc
    header = raw.iloc[0].tolist()
    body = raw.iloc[2:].copy()
    body.columns = header
    body = body[pd.to_numeric(body["Year"], errors="coerce") == year]
    if body.empty:
        years = sorted(int(y) for y in pd.to_numeric(raw.iloc[2:, 0], errors="coerce").dropna().unique())
        raise SourceError(f"{path}: no rows for year {year}; the file holds {years}")
    industries = header[4 : header.index("CONS_h")]
    dom = body[body["Origin"] == "Domestic"].set_index("Code")
    imp = body[body["Origin"] == "Imports"].set_index("Code")
    tot = body[body["Origin"] == "TOT"].set_index("Code")
    Z = dom.loc[industries, industries].astype(float)
    Y = dom.loc[industries, _WIOD_FINAL].astype(float)
    x = dom.loc[industries, "GO"].astype(float)
    money = tot.loc[_WIOD_MONEY_ROWS, industries].astype(float)
    money.loc["imports"] = imp.loc[industries, industries].astype(float).sum(axis=0)
    colsum = Z.sum(axis=0).to_numpy() + money.sum(axis=0).to_numpy()
    check_balance(colsum, x.to_numpy(), pd.Index(industries), rtol, 0.1, "column", "inputs")
    factors = money
    units = {f: "USD million" for f in money.index}
    if sea is not None:
        s = _read_csv(Path(sea))
        s = s[s["year"] == year].set_index("code")
        missing = [i for i in industries if i not in s.index]
        if missing:
            raise SourceError(f"{sea}: year {year} has no row for industries {missing[:5]}")
        for col, (fid, unit) in _SEA_FACTORS.items():
            factors.loc[fid] = s.loc[industries, col].astype(float).to_numpy()
            units[fid] = unit
    signed = [f for f in factors.index if (factors.loc[f] < 0).any()]
    economy = from_flows(
        Z,
        x,
        factors,
        Y,
        units="USD million",
        factor_units=units,
        signed=signed,
        balance="rows",
        rtol=rtol,
        name=f"wiod_{Path(path).name[:3].lower()}_{year}",
        meta={"source": path.name, "year": year, "units": "USD million, basic prices"},
    )
    names = dom.loc[industries, "Description"].astype(str)
    import dataclasses

    table = economy.products.copy()
    table["name"] = names.to_numpy()
    return dataclasses.replace(economy, products=table, activities=table[["region", "name"]].assign(capacity=np.inf))


def read_wiod2013_mrio(
    folder: str | os.PathLike,
    prefix: str = "wiot2011_7regions",
    sectors: str | os.PathLike | None = None,
    rtol: float = 1e-6,
    atol: float = 0.0,
) -> Economy:
    """The WIOD 2013 world table (or its regional aggregate) as one multi-regional economy.

    Reads ``{prefix}_intermediate.csv`` (wide: ``region,sector`` then ``Region|cN``
    columns), ``{prefix}_final_demand.csv`` (``Region|CATEGORY`` columns) and
    ``{prefix}_gross_output.csv``; or, for the full 41-region table, the long files
    ``wiot2011_intermediate_long.csv.gz`` / ``wiot2011_final_demand_long.csv.gz``
    (``prefix="wiot2011"``). Products are ``REGION/cN``. The residual
    ``x - column sum of Z`` is one signed factor, ``value_added_and_adjustments``
    (value added plus taxes less subsidies and margins: the table has no split).
    """
    folder = Path(folder)
    go = _read_csv(folder / f"{prefix}_gross_output.csv", dtype={"region": str, "sector": str})
    ids = pd.Index((go["region"] + "/" + go["sector"]).to_numpy(), dtype=object)
    x = pd.Series(go["gross_output"].to_numpy(dtype=float), index=ids)
    long_z = folder / f"{prefix}_intermediate_long.csv.gz"
    if long_z.exists():
        zl = _read_csv(long_z, dtype={"row_region": str, "row_sector": str, "col_region": str, "col_sector": str})
        i = ids.get_indexer(zl["row_region"] + "/" + zl["row_sector"])
        j = ids.get_indexer(zl["col_region"] + "/" + zl["col_sector"])
        if (i < 0).any() or (j < 0).any():
            r = int(np.flatnonzero((i < 0) | (j < 0))[0])
            raise SourceError(f"{long_z} row {r + 2}: region-sector not in {prefix}_gross_output.csv")
        Z = sp.csr_array((zl["value"].to_numpy(dtype=float), (i, j)), shape=(len(ids), len(ids))).toarray()
        yl = _read_csv(folder / f"{prefix}_final_demand_long.csv.gz", dtype={"row_region": str, "row_sector": str})
        cats = pd.Index(sorted(set(yl["col_region"] + "/" + yl["category"])), dtype=object)
        yi = ids.get_indexer(yl["row_region"] + "/" + yl["row_sector"])
        yj = cats.get_indexer(yl["col_region"] + "/" + yl["category"])
        Y = pd.DataFrame(np.zeros((len(ids), len(cats))), index=ids, columns=cats)
        np.add.at(Y.values, (yi, yj), yl["value"].to_numpy(dtype=float))
    else:
        zw = _read_csv(folder / f"{prefix}_intermediate.csv", dtype={"region": str, "sector": str})
        zi = pd.Index((zw["region"] + "/" + zw["sector"]).to_numpy(), dtype=object)
        zw = zw.drop(columns=["region", "sector"])
        zw.columns = [c.replace("|", "/") for c in zw.columns]
        Z = zw.set_index(zi).loc[ids, list(ids)].to_numpy(dtype=float)
        yw = _read_csv(folder / f"{prefix}_final_demand.csv", dtype={"region": str, "sector": str})
        yi = pd.Index((yw["region"] + "/" + yw["sector"]).to_numpy(), dtype=object)
        yw = yw.drop(columns=["region", "sector"]).set_index(yi).loc[ids]
        yw.columns = [c.replace("|", "/") for c in yw.columns]
        Y = yw.astype(float)
    Zdf = pd.DataFrame(Z, index=ids, columns=ids)
    va = x.to_numpy() - Z.sum(axis=0)
    factors = pd.DataFrame([va], index=["value_added_and_adjustments"], columns=ids)
    economy = from_flows(
        Zdf,
        x,
        factors,
        Y,
        units="USD million",
        factor_units={"value_added_and_adjustments": "USD million"},
        signed=["value_added_and_adjustments"] if (va < 0).any() else [],
        balance="rows",
        rtol=rtol,
        atol=atol,
        name=prefix,
        meta={"source": f"WIOD 2013 release, {prefix}", "year": 2011, "units": "USD million"},
    )
    if sectors is not None:
        names = _read_csv(Path(sectors)).set_index("sector_code").iloc[:, 0]
        import dataclasses

        table = economy.products.copy()
        table["name"] = [str(names.get(p.split("/", 1)[1], "")) for p in table.index]
        economy = dataclasses.replace(economy, products=table, activities=table[["region", "name"]].assign(capacity=np.inf))
    return economy
