"""Seconds per round of participatory planning: gosplan beside demplan on dep1ex01.

Both libraries run the same councils (``data/dep_hahnel2021/dep1ex01``, converted back
to the Clojure data literal that demplan's ``load_dep1ex`` reads) to the 3 % threshold, in the
same process, and at ten times the size (every council repeated ten times: 30,000 worker and
30,000 consumer councils, the size of demplan's own dep1ex archives). Prints the median of
``--repeat`` runs, seconds per round and the ratio, and checks the two agree on the rounds and
the final prices. Run: ``env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/bench_participatory.py``.
"""

from __future__ import annotations

import argparse
import gzip
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from gosplan.democracy.participatory import load_pequod_councils, run_participatory  # noqa: E402

DATA = ROOT / "data" / "dep_hahnel2021"  # the raw files kept in the repository
COUNCILS = DATA / "dep1ex01_councils.json.gz"


def edn(value) -> str:
    """JSON value -> Clojure data literal (keyword keys), the form of pequod's dep1exNN.clj."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "{" + ", ".join(f":{k} {edn(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + " ".join(edn(v) for v in value) + "]"
    return repr(value) if isinstance(value, float) else str(value)


def write_inputs(folder: Path, copies: int) -> tuple[Path, Path]:
    data = json.loads(gzip.open(COUNCILS, "rt").read())
    data = {"ccs": data["ccs"] * copies, "wcs": data["wcs"] * copies}
    js, clj = folder / f"councils_x{copies}.json.gz", folder / f"dep1ex01_x{copies}.clj.gz"
    with gzip.open(js, "wt") as fh:
        json.dump(data, fh)
    with gzip.open(clj, "wt") as fh:
        fh.write(f"(ns pequod-cljs.dep1ex01)\n\n(def ccs {edn(data['ccs'])})\n\n(def wcs {edn(data['wcs'])})\n")
    return js, clj


def timed(fn, repeat: int):
    times, out = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--copies", type=int, nargs="*", default=[1, 10])
    args = parser.parse_args()

    from threadpoolctl import threadpool_info

    print("BLAS:", [(i["internal_api"], i.get("architecture"), i["num_threads"]) for i in threadpool_info()])
    try:
        import demplan
        from demplan.prefabs import HahnelBook2021
    except ImportError:
        demplan = None
        print("demplan is not installed (pip install demplan): timing gosplan alone")

    with tempfile.TemporaryDirectory() as tmp:
        for copies in args.copies:
            js, clj = write_inputs(Path(tmp), copies)
            economy = load_pequod_councils(js)
            ours_s, ours = timed(lambda: run_participatory(economy, threshold=0.03, record_workers=False), args.repeat)
            per_round = ours_s / ours.rounds
            line = (f"x{copies:<3} {len(economy.worker_ids):>6} worker + {len(economy.consumer_ids):>6} consumer councils: "
                    f"gosplan {ours.rounds} rounds, {per_round * 1e3:8.3f} ms/round")
            if demplan is not None:
                their_economy = demplan.load_dep1ex(str(clj))
                proc = HahnelBook2021(threshold_pct=3.0)
                theirs_s, theirs = timed(lambda: demplan.run(proc, their_economy, seed=0, differences=False),
                                         args.repeat)
                rounds = theirs.summary.rounds
                # demplan orders goods private, public, intermediate, nature, labour; we follow the trace
                order = np.r_[0:10, 20:50, 10:20]
                final = np.asarray(theirs.plan.valuation["next_indicative_price"])[order]
                agree = np.abs(final / ours.final_prices.to_numpy() - 1).max()
                line += (f" | demplan {rounds} rounds, {theirs_s / rounds * 1e3:8.3f} ms/round"
                         f" | demplan/gosplan time per round = {(theirs_s / rounds) / per_round:5.2f}"
                         f" | final prices agree to {agree:.1e}")
            print(line, flush=True)
    print("median of", args.repeat, "runs each; the machine is shared with other jobs, so timings are contended")


if __name__ == "__main__":
    main()
