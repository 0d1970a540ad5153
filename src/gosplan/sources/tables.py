"""gosplan's own table format: an economy as a few long tables, in CSV, Parquet or Excel.

The format (versions 1 and 2) is the economy itself, nothing more, so a round trip is exact:

=============================  ==========================================================
table                          columns
=============================  ==========================================================
``products``                   ``id, unit, region, name``
``activities``                 ``id, region, name, capacity`` (``inf``: no limit)
``factors``                    ``id, unit, name, available`` (``inf``: no limit)
``use``                        ``product, activity, value`` (input per unit of level)
``make``                       ``product, activity, value`` (output per unit of level)
``factor_use``                 ``factor, activity, value``
``capital``                    ``product, activity, value`` (optional)
``levels``                     ``activity, value`` (optional: base-year activity levels)
``final_demand``               ``product`` then one column per category (optional)
``final_demand_factor_use``    ``factor`` then one column per final-demand category: the
                               factor use of final demand itself, pymrio's ``F_Y``
                               (optional; version 2)
``meta``                       JSON: ``{"format": "gosplan-economy", "version": 1, "name": ..., "meta": {...}}``
=============================  ==========================================================

An economy with ``final_demand_factor_use`` is written as version 2, so that a
gosplan that reads only version 1 refuses it instead of dropping the table;
every other economy is still written as version 1.

CSV and Parquet store a folder with one file per table (``use.csv``,
``meta.json``, ...); Excel stores one workbook with one sheet per table (the
``meta`` sheet holds the JSON in cell A1). The coefficient tables are long
(only non-zero cells), so a sparse economy stays small on disk. Floats are
written in their shortest exact form and read back bit for bit.

Reading checks every row against the label tables and names the file, the row
and the id at fault; nothing is returned until the whole economy validates.
Writing goes to a temporary sibling and is moved into place at the end, so a
failed write never leaves a half-written table where a good one was.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from gosplan.economy import Economy
from gosplan.errors import GosplanError, SchemaError, SourceError, UnknownIdError

FORMAT = "gosplan-economy"
#: the newest version read; version 2 adds the optional final_demand_factor_use table
VERSION = 2
LABEL_TABLES = {"products": "product", "activities": "activity", "factors": "factor"}
#: coefficient table -> (row label table, column label table)
MATRIX_TABLES = {
    "use": ("products", "activities"),
    "make": ("products", "activities"),
    "factor_use": ("factors", "activities"),
    "capital": ("products", "activities"),
}
_ROW_KEY = {"products": "product", "factors": "factor", "activities": "activity"}
_EXCEL_MAX_ROWS = 1_048_575


# -- economy <-> tables ----------------------------------------------------------------


def economy_to_tables(economy: Economy) -> dict[str, pd.DataFrame | dict]:
    """The tables of the format, as DataFrames (plus the ``meta`` dict)."""
    out: dict[str, Any] = {}
    for table in LABEL_TABLES:
        df = getattr(economy, table).reset_index()
        out[table] = df.rename(columns={df.columns[0]: "id"})
    for table, (rows, cols) in MATRIX_TABLES.items():
        m = getattr(economy, table)
        if m is None:
            continue
        coo = sp.coo_array(m)
        # ids as categoricals of the label index: no string per entry (5 * 10^7 at n = 10^6)
        out[table] = pd.DataFrame(
            {
                _ROW_KEY[rows]: pd.Categorical.from_codes(coo.row, categories=getattr(economy, rows).index),
                _ROW_KEY[cols]: pd.Categorical.from_codes(coo.col, categories=getattr(economy, cols).index),
                "value": coo.data,
            }
        )
    if economy.levels is not None:
        out["levels"] = pd.DataFrame({"activity": economy.activity_ids.to_numpy(), "value": economy.levels.to_numpy()})
    if economy.final_demand is not None:
        fd = economy.final_demand.copy()
        fd.columns = [str(c) for c in fd.columns]
        out["final_demand"] = fd.reset_index(names="product")
    fy = economy.final_demand_factor_use
    if fy is not None:
        fy = fy.copy()
        fy.columns = [str(c) for c in fy.columns]
        out["final_demand_factor_use"] = fy.reset_index(names="factor")
    version = 2 if fy is not None else 1  # version 1 readers know every other table
    out["meta"] = {"format": FORMAT, "version": version, "name": economy.name, "meta": _jsonable(economy.meta)}
    return out


def tables_to_economy(
    tables: dict[str, Any], where: Callable[[str], str] = lambda t: t, source: str = ""
) -> Economy:
    """Build and validate an economy from the format's tables.

    ``where(table)`` names the file (and sheet) a table came from, for messages.
    Row numbers in messages are those a spreadsheet shows (header is row 1).
    """
    meta = tables.get("meta") or {}
    if meta and meta.get("format") not in (None, FORMAT):
        raise SourceError(f"{where('meta')}: format {meta.get('format')!r} is not {FORMAT!r}")
    if meta and int(meta.get("version", VERSION)) > VERSION:
        raise SourceError(
            f"{where('meta')}: format version {meta['version']} is newer than this gosplan reads ({VERSION}); upgrade gosplan"
        )
    labels: dict[str, pd.DataFrame] = {}
    for table, key in LABEL_TABLES.items():
        if table not in tables:
            if table == "factors":
                labels[table] = pd.DataFrame(index=pd.Index([], dtype=object, name=key))
                continue
            raise SourceError(f"{where(table)}: table is missing; every economy needs {table}")
        df = tables[table]
        _require_columns(df, ["id"], where(table))
        ids = df["id"]
        if ids.isna().any():
            raise SchemaError(f"{where(table)} row {int(np.flatnonzero(ids.isna().to_numpy())[0]) + 2}: id is empty")
        dup = ids.duplicated().to_numpy()
        if dup.any():
            r = int(np.flatnonzero(dup)[0])
            raise SchemaError(f"{where(table)} row {r + 2}: duplicate id {ids.iloc[r]!r}; ids must be unique")
        labels[table] = df.set_index(pd.Index(ids.astype(str).to_numpy(), dtype=object, name=key)).drop(columns="id")

    matrices: dict[str, sp.csr_array | None] = {}
    for table, (rows, cols) in MATRIX_TABLES.items():
        if table not in tables:
            if table == "capital":
                matrices[table] = None
                continue
            if table == "factor_use" and len(labels["factors"]) == 0:
                matrices[table] = sp.csr_array((0, len(labels["activities"])))
                continue
            raise SourceError(f"{where(table)}: table is missing")
        df = tables[table]
        rk, ck = _ROW_KEY[rows], _ROW_KEY[cols]
        _require_columns(df, [rk, ck, "value"], where(table))
        i = _positions(df[rk], labels[rows].index, where(table), rk, rows)
        j = _positions(df[ck], labels[cols].index, where(table), ck, cols)
        signed = None
        if table == "factor_use" and "signed" in labels["factors"].columns:
            signed = labels["factors"]["signed"].astype(bool).to_numpy()[i]
        v = _values(df["value"], where(table), negative_ok=signed if signed is not None else False)
        m = _csr(v, i, j, (len(labels[rows]), len(labels[cols])))
        if m.nnz < len(v):  # the conversion summed a cell given twice: find its row
            r = int(np.flatnonzero(pd.DataFrame({"i": i, "j": j}).duplicated().to_numpy())[0])
            raise SchemaError(
                f"{where(table)} row {r + 2}: ({df[rk].iloc[r]!r}, {df[ck].iloc[r]!r}) appears twice; give each cell once"
            )
        matrices[table] = m

    levels = None
    if "levels" in tables:
        df = tables["levels"]
        _require_columns(df, ["activity", "value"], where("levels"))
        j = _positions(df["activity"], labels["activities"].index, where("levels"), "activity", "activities")
        if len(set(j)) != len(labels["activities"]):
            raise SchemaError(f"{where('levels')}: give one level for every activity ({len(labels['activities'])})")
        lv = np.zeros(len(labels["activities"]))
        lv[j] = _values(df["value"], where("levels"), negative_ok=False)
        levels = pd.Series(lv, index=labels["activities"].index)

    final_demand = None
    if "final_demand" in tables:
        df = tables["final_demand"]
        _require_columns(df, ["product"], where("final_demand"))
        i = _positions(df["product"], labels["products"].index, where("final_demand"), "product", "products")
        cats = [c for c in df.columns if c != "product"]
        fd = np.zeros((len(labels["products"]), len(cats)))
        for k, c in enumerate(cats):
            fd[i, k] = _values(df[c], f"{where('final_demand')} column {c!r}", negative_ok=True)
        final_demand = pd.DataFrame(fd, index=labels["products"].index, columns=pd.Index(cats, dtype=object))

    final_factor_use = None
    if "final_demand_factor_use" in tables:
        final_factor_use = _final_factor_use(tables["final_demand_factor_use"], labels["factors"].index,
                                             final_demand, where("final_demand_factor_use"))

    try:
        return Economy(
            products=labels["products"],
            activities=labels["activities"],
            factors=labels["factors"],
            use=matrices["use"],
            make=matrices["make"],
            factor_use=matrices["factor_use"],
            capital=matrices["capital"],
            levels=levels,
            final_demand=final_demand,
            final_demand_factor_use=final_factor_use,
            name=str(meta.get("name", "")),
            meta=meta.get("meta", {}),
        )
    except GosplanError as exc:
        if not source:
            raise
        raise type(exc)(f"{source}: {exc}") from exc


def _final_factor_use(df: pd.DataFrame, factors: pd.Index, final_demand: pd.DataFrame | None,
                      where: str) -> pd.DataFrame:
    """The ``final_demand_factor_use`` table (factor, then a column per category) as factors x categories."""
    _require_columns(df, ["factor"], where)
    if final_demand is None:
        raise SchemaError(f"{where}: needs the final_demand table, whose categories are its columns")
    i = _positions(df["factor"], factors, where, "factor", "factors")
    dup = pd.Series(i).duplicated().to_numpy()
    if dup.any():
        r = int(np.flatnonzero(dup)[0])
        raise SchemaError(f"{where} row {r + 2}: factor {df['factor'].iloc[r]!r} appears twice; give each factor once")
    cats = [str(c) for c in df.columns if c != "factor"]
    unknown = [c for c in cats if c not in final_demand.columns]
    if unknown:
        raise UnknownIdError(f"{where}: column(s) {unknown[:10]} are no final-demand category; "
                             f"the categories are {list(final_demand.columns)[:20]}")
    values = np.zeros((len(factors), len(cats)))
    for k, c in enumerate(df.columns.drop("factor")):
        # signed: a factor may be a subsidy or a sink, as in factor_use's signed rows
        values[i, k] = _values(df[c], f"{where} column {str(c)!r}", negative_ok=True)
    return pd.DataFrame(values, index=factors, columns=pd.Index(cats, dtype=object))


def _require_columns(df: pd.DataFrame, cols: list[str], where: str) -> None:
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise SourceError(f"{where}: missing column(s) {missing}; found {list(df.columns)}")


def _positions(col: pd.Series, index: pd.Index, where: str, key: str, table: str) -> np.ndarray:
    # each distinct id is looked up once: a matrix table repeats every id many times
    # (n = 10^6 products, 5 * 10^7 entries: 46 s as strings row by row, a few s this way)
    if isinstance(col.dtype, pd.CategoricalDtype):  # read from Parquet's dictionary pages
        codes, uniques = col.array.codes, col.array.categories
    else:
        codes, uniques = pd.factorize(col)
    pos = index.get_indexer(pd.Index(uniques).astype(str))[codes]
    pos[codes < 0] = -1  # an empty cell
    if (pos < 0).any():
        r = int(np.flatnonzero(pos < 0)[0])
        raise UnknownIdError(
            f"{where} row {r + 2}: unknown {key} {col.iloc[r]!r}; add it to the {table} table or fix the id"
        )
    return pos


def _csr(v: np.ndarray, i: np.ndarray, j: np.ndarray, shape: tuple[int, int]) -> sp.csr_array:
    """The matrix of the cells (i, j, v); a cell given twice is summed (nnz < len(v)).

    A table in row order with each row's columns ascending, as :func:`write_economy`
    writes it, is already CSR: its arrays are taken as they are (n = 10^6 products,
    5 * 10^7 entries: the general conversion took 1.7 s).
    """
    if len(i) and (i[:-1] <= i[1:]).all():
        indptr = np.zeros(shape[0] + 1, dtype=np.int64)
        np.cumsum(np.bincount(i, minlength=shape[0]), out=indptr[1:])
        itype = np.int32 if max(shape[1], len(v)) < 2**31 else np.int64
        m = sp.csr_array((v, j.astype(itype, copy=False), indptr.astype(itype, copy=False)), shape=shape)
        if m.has_canonical_format:  # sorted columns, none twice, in every row
            return m
    return sp.csr_array((v, (i, j)), shape=shape)


def _values(col: pd.Series, where: str, negative_ok: bool | np.ndarray) -> np.ndarray:
    """Values of a column as floats; ``negative_ok`` may be given per row (signed factors)."""
    v = pd.to_numeric(col, errors="coerce").to_numpy(dtype=float)
    bad = ~np.isfinite(v) | ((v < 0) & ~np.asarray(negative_ok, dtype=bool))
    if bad.any():
        r = int(np.flatnonzero(bad)[0])
        raise SchemaError(
            f"{where} row {r + 2}: value {str(col.iloc[r])!r} is "
            f"{'not a finite number' if not np.isfinite(v[r]) else 'negative'}; "
            "values must be finite numbers, and >= 0 unless the factor is declared signed"
        )
    return v


def _jsonable(obj: Any) -> Any:
    return json.loads(json.dumps(obj, default=lambda o: o.item() if hasattr(o, "item") else str(o)))


# -- files ------------------------------------------------------------------------------------


def _read_parquet(f: Path) -> pd.DataFrame:
    """A table that refers to ids (a matrix, levels, final demand) from Parquet, its text id
    columns (product, activity, factor) as pandas categoricals.

    A matrix table repeats every id many times, and Parquet stores such a column as
    dictionary pages: read as dictionaries, the ids are never expanded into a string
    per row (n = 10^6 products, 5 * 10^7 entries in the use table: 2.5 s to read and
    2 s to build both categoricals, against 5 s to read and 3 s to factorize the
    strings; 0.4 GB of codes instead of several GB of strings).
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pq.read_schema(f)
    ids = [c for c in ("product", "activity", "factor")
           if c in schema.names and (pa.types.is_string(schema.field(c).type) or pa.types.is_large_string(schema.field(c).type))]
    table = pq.read_table(f, read_dictionary=ids)
    df = table.drop_columns(ids).to_pandas()
    for c in ids:
        df[c] = _categorical(table.column(c))
    return df[table.column_names]


def _categorical(col: Any) -> pd.Categorical:
    """A dictionary-encoded pyarrow column as one pandas categorical. Its batches share a
    dictionary per row group (8 batches each, n = 10^6): each distinct dictionary is
    factorized once, by the address of its data."""
    dicts: list[Any] = []
    seen: dict[tuple[int, int, int], int] = {}
    which = []
    for chunk in col.chunks:
        d = chunk.dictionary
        data = d.buffers()[-1]
        key = (data.address if data is not None else id(d), d.offset, len(d))
        if key not in seen:
            seen[key] = len(dicts)
            dicts.append(d)
        which.append(seen[key])
    if not dicts:
        return pd.Categorical.from_codes(np.zeros(0, dtype=np.int32), categories=pd.Index([], dtype=object))
    import pyarrow as pa

    codes, uniques = pd.factorize(pa.concat_arrays(dicts).to_numpy(zero_copy_only=False))
    starts = np.cumsum([0] + [len(d) for d in dicts])
    out = np.empty(len(col), dtype=np.int32)
    o = 0
    for chunk, w in zip(col.chunks, which):
        idx = chunk.indices.fill_null(-1).to_numpy()
        mapped = codes[starts[w] : starts[w + 1]]
        out[o : o + len(chunk)] = np.where(idx < 0, -1, mapped[np.maximum(idx, 0)]) if len(mapped) else -1
        o += len(chunk)
    return pd.Categorical.from_codes(out, categories=pd.Index(uniques, dtype=object))


def _read_folder(path: Path, suffix: str) -> dict[str, Any]:
    tables: dict[str, Any] = {}
    for name in [*LABEL_TABLES, *MATRIX_TABLES, "levels", "final_demand", "final_demand_factor_use"]:
        f = path / f"{name}{suffix}"
        if not f.exists():
            continue
        try:
            if suffix == ".csv":
                # ids and units stay text; values are parsed exactly (round_trip)
                dtype = {c: str for c in ("id", "unit", "region", "name", "product", "activity", "factor")}
                tables[name] = pd.read_csv(f, dtype=dtype, keep_default_na=False, na_values=[""], **EXACT_FLOATS)
            else:  # a label table's own columns keep their types, whatever their names
                tables[name] = pd.read_parquet(f) if name in LABEL_TABLES else _read_parquet(f)
        except (ValueError, OSError) as exc:
            raise SourceError(f"{f}: cannot be read as {suffix[1:]}: {exc}") from exc
        for col in ("unit", "region", "name"):
            if col in tables[name].columns:
                tables[name][col] = tables[name][col].astype(object).fillna("")
    meta_file = path / "meta.json"
    if meta_file.exists():
        try:
            tables["meta"] = json.loads(meta_file.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise SourceError(f"{meta_file}: not valid JSON (line {exc.lineno}): {exc.msg}") from exc
    return tables


def _read_excel(path: Path) -> dict[str, Any]:
    try:
        sheets = pd.read_excel(path, sheet_name=None, dtype={"id": str, "product": str, "activity": str, "factor": str})
    except (ValueError, OSError) as exc:
        raise SourceError(f"{path}: cannot be read as an Excel workbook: {exc}") from exc
    tables: dict[str, Any] = {}
    for name, df in sheets.items():
        if name == "meta":
            cell = df.columns[0] if df.empty else df.iloc[0, 0]
            text = str(df.columns[0]) if df.empty else str(cell)
            try:
                tables["meta"] = json.loads(text)
            except json.JSONDecodeError as exc:
                raise SourceError(f"{path} sheet 'meta': cell A1 must hold the JSON metadata ({exc.msg})") from exc
        else:
            for col in ("unit", "region", "name"):
                if col in df.columns:  # Excel returns empty text cells as NaN floats
                    df[col] = df[col].astype(object).fillna("").astype(str)
            tables[name] = df
    return tables


def format_of(path: Path) -> str:
    """``csv``, ``parquet`` or ``excel``, from a file's suffix or a folder's contents."""
    path = Path(path)
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        return "excel"
    if path.is_dir():
        if (path / "use.parquet").exists():
            return "parquet"
        if (path / "use.csv").exists():
            return "csv"
        raise SourceError(f"{path}: folder holds neither use.csv nor use.parquet; is it a gosplan economy?")
    if path.suffix.lower() in (".csv", ".parquet"):
        raise SourceError(
            f"{path}: a gosplan economy in {path.suffix[1:]} is a folder of tables (products{path.suffix}, "
            f"use{path.suffix}, ...); give the folder"
        )
    raise SourceError(f"{path}: unknown format; use a folder of .csv or .parquet tables, or an .xlsx workbook")


def read_economy(path: str | os.PathLike) -> Economy:
    """Read an economy in gosplan's format (folder of CSV or Parquet tables, or .xlsx)."""
    path = Path(path)
    if not path.exists():
        raise SourceError(f"{path}: no such file or folder")
    fmt = format_of(path)
    if fmt == "excel":
        tables = _read_excel(path)
        return tables_to_economy(tables, lambda t: f"{path} sheet {t!r}", source=str(path))
    suffix = ".csv" if fmt == "csv" else ".parquet"
    tables = _read_folder(path, suffix)
    return tables_to_economy(tables, lambda t: str(path / (t + (".json" if t == "meta" else suffix))), source=str(path))


def write_economy(economy: Economy, path: str | os.PathLike, format: str | None = None) -> Path:
    """Write an economy; the format follows the suffix (``.xlsx``) or ``format`` (csv/parquet).

    A folder path without a suffix gets Parquet. The result is written next to its
    destination and moved into place, so an existing economy is replaced whole or
    not at all.
    """
    path = Path(path)
    fmt = format or ("excel" if path.suffix.lower() == ".xlsx" else "csv" if path.suffix.lower() == ".csv" else "parquet")
    if fmt not in ("csv", "parquet", "excel"):
        raise SourceError(f"{path}: unknown format {fmt!r}; use csv, parquet or excel")
    tables = economy_to_tables(economy)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    os.chmod(tmp, 0o777 & ~_umask())  # mkdtemp makes it 0700; the folder written is for others to read
    try:
        if fmt == "excel":
            too_long = [t for t, df in tables.items() if t != "meta" and len(df) > _EXCEL_MAX_ROWS]
            if too_long:
                raise SourceError(
                    f"{path}: table(s) {too_long} exceed Excel's {_EXCEL_MAX_ROWS:,} rows; write CSV or Parquet instead"
                )
            target = tmp / path.name
            with pd.ExcelWriter(target, engine="openpyxl") as xw:
                pd.DataFrame([[json.dumps(tables["meta"])]]).to_excel(xw, sheet_name="meta", index=False, header=False)
                for name, df in tables.items():
                    if name != "meta":
                        _check_excel_text(df, path, name)
                        df.to_excel(xw, sheet_name=name, index=False)
                        _exact_floats(xw.book[name])
            _replace(target, path)
        else:
            for name, df in tables.items():
                if name == "meta":
                    (tmp / "meta.json").write_text(json.dumps(df, indent=1, sort_keys=True), encoding="utf-8")
                elif fmt == "csv":
                    df.to_csv(tmp / f"{name}.csv", index=False)
                else:
                    _write_parquet(df, tmp / f"{name}.parquet")
            _replace(tmp, path)
            tmp = None
    finally:
        if tmp is not None and tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return path


#: rows per Parquet row group in :func:`_write_parquet` (pyarrow's default)
ROW_GROUP = 1024 * 1024


def _write_parquet(df: pd.DataFrame, f: Path) -> None:
    """A table as Parquet, its categorical columns as text columns.

    Each row group's text is written as a dictionary of the ids that row group uses,
    made from the categorical's codes (n = 10^6 products, 5 * 10^7 use entries:
    write_economy took 11 s, against 22 s making a string per entry). The file keeps no Arrow
    schema, so every reader sees plain strings, as in any other table of the format.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    cats = [c for c in df.columns if isinstance(df[c].dtype, pd.CategoricalDtype)]
    if not cats:
        df.to_parquet(f, index=False)
        return
    plain = pa.Table.from_pandas(df.drop(columns=cats), preserve_index=False)
    words = pa.dictionary(pa.int32(), pa.string())
    schema = pa.schema([pa.field(c, words) if c in cats else plain.schema.field(c) for c in df.columns])
    ids = {c: np.asarray(df[c].array.categories, dtype=object) for c in cats}
    with pq.ParquetWriter(f, schema, store_schema=False) as writer:
        for a in range(0, max(len(df), 1), ROW_GROUP):
            b = min(a + ROW_GROUP, len(df))
            columns = []
            for c in df.columns:
                if c not in cats:
                    columns.append(plain.column(c).slice(a, b - a))
                    continue
                codes = df[c].array.codes[a:b]
                empty = codes < 0  # an empty cell
                local, used = pd.factorize(codes[~empty])
                indices = np.zeros(b - a, dtype=np.int32)
                indices[~empty] = local
                dictionary = pa.array(ids[c][used], pa.string())
                columns.append(pa.DictionaryArray.from_arrays(pa.array(indices, mask=empty), dictionary))
            writer.write_table(pa.Table.from_arrays(columns, schema=schema))


#: read_csv options that give back the exact float a writer printed: pandas < 3 parses to within
#: one ulp unless asked for round_trip, and pandas 3 does it by default and deprecates the option
EXACT_FLOATS = {"float_precision": "round_trip"} if int(pd.__version__.split(".")[0]) < 3 else {}


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_table(frame: pd.DataFrame, path: str | os.PathLike, index: bool = True) -> Path:
    """Write one labelled table as Parquet or CSV, by the file's suffix.

    Written next to its destination and moved into place, so an existing file is
    replaced whole or not at all; missing parent folders are made.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".parquet", ".csv"):
        raise SourceError(f"{path}: write .parquet or .csv (the suffix decides the format)")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        # mkstemp makes the file 0600; a table is for others to read, as the umask allows
        os.chmod(tmp, 0o666 & ~_umask())
        try:
            if suffix == ".parquet":
                frame.to_parquet(tmp, index=index)
            else:
                frame.to_csv(tmp, index=index)
        except (TypeError, ValueError) as e:  # pyarrow's type errors subclass these
            raise SourceError(f"{path}: the table cannot be written as {suffix[1:]} ({e}); nothing was changed") from e
        _replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def _check_excel_text(df: pd.DataFrame, path: Path, sheet: str) -> None:
    """Excel cannot hold control characters: name the cell instead of failing deep in openpyxl."""
    for col in df.columns:
        if df[col].dtype == object:
            bad = df[col].astype(str).str.contains(r"[\x00-\x08\x0b\x0c\x0e-\x1f]", regex=True).to_numpy()
            if bad.any():
                r = int(np.flatnonzero(bad)[0])
                raise SourceError(
                    f"{path} sheet {sheet!r} row {r + 2} column {col!r}: text {df[col].iloc[r]!r} holds a control "
                    "character Excel cannot store; clean the label or write CSV or Parquet"
                )


def _exact_floats(sheet) -> None:
    """Make openpyxl write every float in its shortest exact form.

    openpyxl formats numbers with ``%.16g``, which loses the last digit of some
    doubles, and writes infinity as an empty cell; Excel itself reads 17 digits.
    Cells keep their numeric type; infinities become the text ``inf``.
    """
    for row in sheet.iter_rows():
        for cell in row:
            v = cell._value
            if isinstance(v, float):
                if np.isfinite(v):
                    cell._value = repr(v)
                else:
                    cell.value = repr(v)


def _replace(src: Path, dst: Path) -> None:
    """Move ``src`` onto ``dst``; an old ``dst`` is kept until the new one is in place."""
    if dst.exists():
        old = dst.with_name(f".{dst.name}.old")
        if old.exists():
            shutil.rmtree(old) if old.is_dir() else old.unlink()
        os.replace(dst, old)
        os.replace(src, dst)
        shutil.rmtree(old) if old.is_dir() else old.unlink()
    else:
        os.replace(src, dst)
