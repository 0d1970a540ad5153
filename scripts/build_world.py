"""Build the shipped world ``src/gosplan/datasets/wiod_2011/world/`` from data/wiod2013_mrio_2011.

usage: python scripts/build_world.py [DATA_DIR]

Reads the WIOD 2013 release's world table of 2011 (41 regions x 35 sectors, the long
files) with :func:`gosplan.sources.published.read_wiod2013_mrio`, forms each region's
techniques (inputs summed over their regions of origin) and its labour proxy (value
added per unit of gross output) with :func:`gosplan.planning.world.world_from_mrio`,
and each region's basket: its final demand of 2011 (households, non-profits,
government, gross fixed capital formation; not inventories) summed over origins.
Written as three Parquet tables (:func:`gosplan.planning.world.world_to_tables`).
"""

import sys
from pathlib import Path

import numpy as np
import pandas as pd

from gosplan.planning.world import world_from_mrio, world_to_tables
from gosplan.sources.published import read_wiod2013_mrio

ROOT = Path(__file__).resolve().parents[1]
data = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "data"
out = ROOT / "src" / "gosplan" / "datasets" / "wiod_2011" / "world"
folder = data / "wiod2013_mrio_2011"

# the full table is rounded to whole USD millions: rows miss their totals by up to 108
economy = read_wiod2013_mrio(folder, "wiot2011", sectors=folder / "wiod2013_sectors.csv", rtol=1e-3, atol=150.0)
world = world_from_mrio(economy, name="wiod_2011")
Y = economy.Y
keep = [c for c in Y.columns if not c.endswith("/INVEN")]
Yk = Y[keep]
dest = pd.Index([c.split("/", 1)[0] for c in keep])
prod = pd.Index([p.split("/", 1)[1] for p in Y.index])
# final demand of each region (column's region) for each product, summed over origins
M = Yk.to_numpy()
basket = {}
for r in world.regions:
    cols = np.flatnonzero(dest == r)
    byprod = pd.Series(M[:, cols].sum(axis=1), index=prod).groupby(level=0).sum()
    for p, v in byprod.items():
        basket[f"{r}/{p}"] = max(float(v), 0.0)
tables = world_to_tables(world, pd.Series(basket))
out.mkdir(parents=True, exist_ok=True)
for k, df in tables.items():
    df.to_parquet(out / f"{k}.parquet", index=False)
    print(k, df.shape)
print(world, "filled with the world average:", world.meta.get("filled_with_world_average"))
