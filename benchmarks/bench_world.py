"""Benchmark: the world plan, decomposed by region (Dantzig-Wolfe, Dask) against one monolithic LP.

Worlds of R regions x n products. Each region: one technique per product with the
planning benchmark's input pattern (20 inputs per column drawn at random over the
region's products, column sums 0.3-0.7; bench_planning.py's alternative techniques
and extra factors are left out), labour per unit uniform in [0.5, 1.5] times a
regional productivity in [0.7, 1.3], labour supply 1 per product. Trade: a share
``--tradable`` of the products (default 5 %) may be traded, each region with its
``--partners`` nearest regions on a ring each way (default 2, so 4 partners), at a
transport margin of 0.01 labour and 5 % of the goods per unit shipped. Targets:
each region's basket uniform in [0.5, 1.5] per product. Objective: max-min.

Timed in one run: the decomposition in this process, on a Dask LocalCluster of 1
and 2 worker processes, and the monolithic LP on HiGHS (dual simplex, IPM with
crossover, PDLP), each under ``--time-limit``. Printed: rounds, the certified gap
by round, bytes moved per round (prices out, proposals in, as array payloads),
per-region solve times, peak memory (this process and the largest worker).

    python benchmarks/bench_world.py --sizes 10x1000,50x2000 [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from gosplan.planning import SolverOptions, Targets
from gosplan.planning.world import build_world, plan_world, regional_baskets

INPUTS = 20


def generate(R: int, n: int, tradable: float = 0.05, partners: int = 2, seed: int = 0):
    rng = np.random.default_rng(seed)
    prods = [f"p{i}" for i in range(n)]
    use, lab, av = {}, {}, {}
    k = min(INPUTS, n)
    for r in range(R):
        rows = rng.integers(0, n, size=(n, k))
        vals = rng.uniform(0.0, 1.0, size=(n, k))
        vals *= (rng.uniform(0.3, 0.7, size=n) / vals.sum(axis=1))[:, None]
        use[f"R{r}"] = sp.csr_array((vals.ravel(), (rows.ravel(), np.repeat(np.arange(n), k))), shape=(n, n))
        lab[f"R{r}"] = rng.uniform(0.5, 1.5, n) * rng.uniform(0.7, 1.3)
        av[f"R{r}"] = float(n)
    trad = [p for p in prods if rng.uniform() < tradable] or prods[:1]
    regs = [f"R{r}" for r in range(R)]
    pairs = sorted({(regs[a], regs[(a + d) % R]) for a in range(R) for d in range(-partners, partners + 1)
                    if d and regs[a] != regs[(a + d) % R]})
    w = build_world(prods, use, lab, av, pairs=pairs, tradable=trad, default_cost={"labour": 0.01, "goods": 0.05},
                    name=f"synthetic {R}x{n}")
    basket = regional_baskets(w, {r: rng.uniform(0.5, 1.5, n) for r in regs})
    return w, Targets(basket=basket)


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cpu_seconds() -> float:
    """CPU seconds of this process so far: on a shared machine a steadier figure than wall time."""
    u = resource.getrusage(resource.RUSAGE_SELF)
    return u.ru_utime + u.ru_stime


def run_decomposed(w, t, workers: int | None, max_rounds: int = 400):
    ex = None
    worker_peak = None
    if workers:
        from gosplan.scale.world import DaskExecutor

        ex = DaskExecutor(n_workers=workers)
    t0 = time.perf_counter()
    c0 = cpu_seconds()
    holder = {}
    if ex is not None:
        orig_close = ex.close

        def close():  # read the workers' peak memory and CPU seconds before the cluster goes
            try:
                holder["peak"] = max(ex.client.run(lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024).values())
                holder["cpu"] = sum(ex.client.run(cpu_seconds).values())
            except Exception:
                pass
            orig_close()

        ex.close = close
    wp = plan_world(w, t, "max-min", method="decomposed", executor=ex, keep_prices=False, max_rounds=max_rounds)
    seconds = time.perf_counter() - t0
    coordinator_cpu = cpu_seconds() - c0
    worker_peak = holder.get("peak")
    r = wp.rounds
    ph = r[r["phase"] > 0]
    v = wp.verify(t)
    return {
        "status": str(wp.plan.status),
        "seconds": seconds,
        "coordinator_cpu_seconds": coordinator_cpu,
        "worker_cpu_seconds": holder.get("cpu"),
        "opening_seconds": float(r.iloc[0]["pricing_seconds"]),
        "value": wp.value,
        "bound": wp.bound,
        "gap": wp.gap,
        "rounds": len(ph),
        "gap_by_round": [float(x) for x in ph.get("gap", ph["value"] * np.nan).to_numpy()],
        "bytes_out_per_round": float(ph["bytes_out"].mean()),
        "bytes_in_per_round": float(ph["bytes_in"].mean()),
        "opening_bytes_in": float(r.iloc[0]["bytes_in"]),
        "region_seconds_mean": float(ph["block_seconds_sum"].sum() / max(1, len(ph)) / len(w.regions)),
        "region_seconds_max": float(ph["block_seconds_max"].max()),
        # CPU seconds of the regions' solves (steadier than wall time on a shared machine):
        # the opening (one cold solve per region) and the warm re-solves of the rounds
        "opening_cpu_mean": float(r.iloc[0].get("block_cpu_seconds_sum", np.nan) / len(w.regions)),
        "opening_cpu_max": float(r.iloc[0].get("block_cpu_seconds_max", np.nan)),
        "resolve_cpu_mean": float(ph["block_cpu_seconds_sum"].sum() / max(1, len(ph)) / len(w.regions))
        if "block_cpu_seconds_sum" in ph else None,
        "resolve_cpu_max": float(ph["block_cpu_seconds_max"].max()) if "block_cpu_seconds_max" in ph else None,
        "master_seconds_total": float(ph["master_seconds"].sum()),
        "pricing_seconds_total": float(ph["pricing_seconds"].sum()),
        "verify_ok": bool(v.ok),
        "worker_peak_mb": worker_peak,
        "coordinator_peak_mb": peak_mb(),
    }


def run_monolithic(w, t, method: str, time_limit: float):
    opts = SolverOptions(method=method, time_limit=time_limit)
    t0 = time.perf_counter()
    c0 = cpu_seconds()
    wp = plan_world(w, t, "max-min", options=opts)
    seconds = time.perf_counter() - t0
    return {"status": str(wp.plan.status), "seconds": seconds, "cpu_seconds": cpu_seconds() - c0, "value": wp.plan.objective_value,
            "solver_seconds": wp.plan.solver.get("seconds"), "coordinator_peak_mb": peak_mb()}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="10x1000,50x2000")
    ap.add_argument("--workers", default="0,1,2", help="decomposition runs: 0 = in this process")
    ap.add_argument("--monolithic", default="dual_simplex,ipm,pdlp")
    ap.add_argument("--time-limit", type=float, default=600.0)
    ap.add_argument("--tradable", type=float, default=0.05)
    ap.add_argument("--json", default="")
    ap.add_argument("--max-rounds", type=int, default=400)
    a = ap.parse_args()
    results = []
    for size in a.sizes.split(","):
        R, n = (int(v) for v in size.lower().split("x"))
        t0 = time.perf_counter()
        w, t = generate(R, n, a.tradable)
        build = time.perf_counter() - t0
        e = w.economy
        print(f"\n== load average {Path('/proc/loadavg').read_text().split()[:3] if Path('/proc/loadavg').exists() else '?'}")
        print(f"== {w}: {len(e.products):,} products, {len(e.activities):,} activities, nnz(use) {e.use.nnz:,}; "
              f"built in {build:.1f} s", flush=True)
        row = {"R": R, "n": n, "products": len(e.products), "activities": len(e.activities), "build_seconds": build}
        for wk in (int(x) for x in a.workers.split(",") if x != ""):
            name = f"decomposed_{wk}w" if wk else "decomposed_serial"
            res = run_decomposed(w, t, wk, a.max_rounds)
            row[name] = res
            print(f"{name:>20}: {res['seconds']:8.1f} s (opening {res['opening_seconds']:.1f} s; CPU s coordinator "
                  f"{res['coordinator_cpu_seconds']:.1f}, workers {res['worker_cpu_seconds']}), {res['rounds']} rounds, "
                  f"value {res['value']:.9g}, "
                  f"gap {res['gap']:.1e}, verify {res['verify_ok']}, region solve mean {res['region_seconds_mean']*1e3:.1f} ms "
                  f"max {res['region_seconds_max']*1e3:.1f} ms, bytes/round out {res['bytes_out_per_round']:,.0f} "
                  f"in {res['bytes_in_per_round']:,.0f}, peak MB coord {res['coordinator_peak_mb']:.0f} "
                  f"worker {res['worker_peak_mb']}", flush=True)
            print(f"{'':>20}  region CPU s: opening mean {res['opening_cpu_mean']:.2f} max {res['opening_cpu_max']:.2f}; "
                  f"re-solve mean {res['resolve_cpu_mean']:.3f} max {res['resolve_cpu_max']:.3f}", flush=True)
            print(f"{'':>20}  gap by round: {' '.join(f'{g:.1e}' for g in res['gap_by_round'])}", flush=True)
        for m in (x for x in a.monolithic.split(",") if x):
            res = run_monolithic(w, t, m, a.time_limit)
            row[f"monolithic_{m}"] = res
            print(f"{'monolithic ' + m:>20}: {res['seconds']:8.1f} s (CPU {res['cpu_seconds']:.1f} s), {res['status']}, "
                  f"value {res['value']:.9g}, "
                  f"peak MB {res['coordinator_peak_mb']:.0f}", flush=True)
        results.append(row)
    if a.json:
        Path(a.json).write_text(json.dumps(results, indent=2, default=str))


if __name__ == "__main__":
    main()
