"""Rebuild the shipped datasets (src/gosplan/datasets/*/) from the raw published files in data/.

usage: python scripts/build_datasets.py [RAW_DATA_DIR]
The readers check each table's balances; the economies are written in gosplan's Parquet format,
the elections, price series and councils are copied unchanged (their PROVENANCE.md says from where).
"""

import shutil
import sys
from pathlib import Path

from gosplan.sources.published import read_ons_iot, read_wiod2013_mrio, read_wiod_niot
from gosplan.sources.tables import write_economy

data = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).resolve().parents[1] / "data")
out = Path(__file__).resolve().parents[1] / "src" / "gosplan" / "datasets"

economies = {
    "uk_2010": read_ons_iot(
        data / "ons_uk_2010" / "uk_2010_iot_domestic_use_basic_prices_pxp.csv", data / "ons_uk_2010" / "uk_2010_labels.csv"
    ),
    "usa_2014": read_wiod_niot(
        data / "wiod2016_usa_niot" / "USA_NIOT_nov16.xlsx", 2014, data / "wiod2016_usa_niot" / "usa_sea_2000_2014.csv"
    ),
    # the WIOD 2013 aggregate is rounded: rows miss their totals by up to 4.7 (2e-4 relative)
    "wiod_2011_7regions": read_wiod2013_mrio(
        data / "wiod2013_mrio_2011", "wiot2011_7regions", sectors=data / "wiod2013_mrio_2011" / "wiod2013_sectors.csv", rtol=5e-4
    ),
}
for name, economy in economies.items():
    import dataclasses

    economy = dataclasses.replace(economy, name=name)
    write_economy(economy, out / name / "economy", format="parquet")
    print(name, economy)

#: shipped as published: dataset file <- raw file
copies = {
    "assen_2024/election.pb": "pabulib/Netherlands_Assen_2024.pb",
    "swiecie_2023/election.pb": "pabulib/Poland_Swiecie_2023.pb",
    "czestochowa_2024_lisiniec/election.pb": "pabulib/Poland_Czestochowa_2024_Lisiniec.pb",
    "czestochowa_2024_mirow/election.pb": "pabulib/Poland_Czestochowa_2024_Mirow.pb",
    "ussr_1922_1924/prices.csv": "ussr_1920s/scissors_1922_1924.csv",
    "dep1ex01/councils.json.gz": "dep_hahnel2021/dep1ex01_councils.json.gz",
    "dep1ex01/trace.csv.gz": "dep_hahnel2021/dep1ex01_trace.csv.gz",
    "uk_2010/published_results.json": "ons_uk_2010/published_results_2010.json",
}
for target, source in copies.items():
    shutil.copyfile(data / source, out / target)
    print(target, "<-", source)
