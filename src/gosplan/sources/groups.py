"""Product groups of a shipped economy: the sections a council proposes by.

A dataset may ship ``groups.csv`` beside its economy (columns ``product,group``; one row
per product) mapping each product id to the section of the table's classification it
belongs to (CPA/SIC sections for ONS tables, NACE sections for WIOD's). An economy
without one is grouped by region when its products carry regions, else as one group,
:data:`ALL_PRODUCTS`, so every economy can be shown grouped.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from gosplan import datasets
from gosplan.errors import SchemaError

#: The one group of an economy that ships no grouping and has no regions.
ALL_PRODUCTS = "All products"
GROUPS_FILE = "groups.csv"


def read_product_groups(source: str | os.PathLike, products: pd.Index) -> pd.Series:
    """Product id -> group name for ``products``, in the products' order.

    ``source`` is a ``groups.csv`` file or the name of a shipped economy dataset (whose
    ``groups.csv`` is read when it ships one). Every product must be in the file exactly
    once, and the file may name no other product: a grouping that leaves a product out
    would hide it from the councils' forms.
    """
    path = _groups_path(source)
    if path is None:
        return pd.Series(ALL_PRODUCTS, index=products, name="group", dtype=object)
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    if list(table.columns) != ["product", "group"]:
        raise SchemaError(f"{path}: the header is {','.join(table.columns)}; write 'product,group'")
    for i, row in enumerate(table.itertuples(index=False), start=2):
        if not row.product.strip() or not row.group.strip():
            raise SchemaError(f"{path}: row {i} has an empty product or group; give both")
    dup = table["product"][table["product"].duplicated()]
    if len(dup):
        raise SchemaError(f"{path}: product {dup.iloc[0]!r} is listed twice; give each product one group")
    groups = pd.Series(table["group"].str.strip().to_numpy(), index=table["product"].str.strip(), name="group", dtype=object)
    missing = products.difference(groups.index)
    extra = groups.index.difference(products)
    if len(missing) or len(extra):
        raise SchemaError(f"{path}: the grouping does not match the economy's products: missing "
                          f"{list(missing)[:10]}, unexpected {list(extra)[:10]}; give one row per product")
    return groups.reindex(products)


def economy_groups(name: str, economy) -> pd.Series:  # noqa: ANN001
    """The groups of a shipped (or on-disk) economy: its ``groups.csv``, else its regions, else one group."""
    if _groups_path(name) is not None:
        return read_product_groups(name, economy.product_ids)
    regions = economy.products["region"] if "region" in economy.products else None
    if regions is not None and (regions.astype(str).str.len() > 0).any():
        return pd.Series(regions.astype(str).replace("", ALL_PRODUCTS).to_numpy(), index=economy.product_ids,
                         name="group", dtype=object)
    return read_product_groups(name, economy.product_ids)


def _groups_path(source: str | os.PathLike) -> Path | None:
    p = Path(source)
    if p.suffix == ".csv":
        if not p.is_file():
            raise SchemaError(f"{p}: no such grouping file")
        return p
    if str(source) in datasets.DATASETS:
        p = datasets.path(str(source)) / GROUPS_FILE
    elif p.is_dir():
        p = p / GROUPS_FILE
    else:
        return None
    return p if p.is_file() else None
