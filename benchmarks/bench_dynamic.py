"""Multi-period plans: build and solve time and memory, n products x T periods.

A synthetic economy per size (one activity per product, ~8 inputs per column with
column sums about 0.5, capital in the first tenth of the products, labour as the
one factor, capacity at the Leontief output of a final demand) planned with
``MaxConsumption`` over T periods with depreciation, one- and two-period lags and
the terminal stock condition. The peer is SciPy's ``linprog(method="highs")`` on
the very same LP (the same HiGHS engine without gosplan's seam), timed in the same
process, printed as a ratio of CPU seconds. HiGHS runs on one thread, so CPU
seconds stand for an uncontended single core; wall seconds are printed too (on a
shared machine they are several times the CPU seconds).

The default ``--method structured_ipm`` times the exact structured interior-point
method of :mod:`gosplan.planning.dynamic.methods.ipm` (what ``plan_dynamic``'s ``auto``
takes for plans from 1,000 levels on) at every size, and HiGHS where it does not
apply (its reason is printed); status OPTIMAL only on the certificate recomputed
from the LP's arrays. ``--method pdlp`` takes the fast path of ``plan_dynamic(...,
options=SolverOptions(method="pdlp"))``: PDLP, repair to an exactly feasible plan,
per-period polish with investment fixed, and a certificate recomputed from the
arrays (relative primal and dual infeasibility, relative gap to PDLP's dual
bound); status APPROXIMATE. ``auto``, ``simplex``, ``ipm`` run HiGHS itself (exact,
status OPTIMAL). The rows print the relative measures of every method and the
1-minute load average (the machine is shared). The peer runs with its own time
limit (``--peer-time-limit``) where n x T <= ``--peer-max``.

Run: env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/bench_dynamic.py [--sizes 100x5,1000x10]
     [--time-limit 600] [--peer-time-limit 120] [--no-peer] [--method pdlp --tol 1e-6 --accuracy 1e-3]
"""

from __future__ import annotations

import argparse
import gc
import threading
import time

import numpy as np
import pandas as pd
import scipy.sparse as sp

DEFAULT_SIZES = [(n, T) for n in (100, 1_000, 10_000) for T in (5, 10, 20)]


def _sector_pattern(n: int, rng, block: int = 20):
    """Inputs of a product: 5 from its own sector (blocks of 20 products), 2 from the
    hub products every sector uses (energy, transport, trade: the first 1 %), and
    1 from an upstream sector (a lower index): a bordered block structure, as
    product-level tables have, instead of uniformly random links."""
    hubs = max(2, n // 100)
    rows, cols = [], []
    for j in range(n):  # pattern generation only, outside the timed part
        b0 = (j // block) * block
        own = rng.integers(b0, min(n, b0 + block), size=5)
        hub = rng.integers(0, hubs, size=2)
        up = rng.integers(0, b0, size=1) if b0 > 0 else np.zeros(0, dtype=np.int64)
        r = np.unique(np.concatenate([own, hub, up]))
        rows.append(r)
        cols.append(np.full(len(r), j))
    return np.concatenate(rows), np.concatenate(cols)


def synthetic_economy(n: int, seed: int = 0, depreciation: float = 0.05, structure: str = "random"):
    """A sparse economy that can replace its depreciating capital.

    ``structure="random"``: ~8 inputs per product drawn uniformly (the worst case
    for sparse factorisations: the Leontief inverse and every basis LU fill in);
    ``"sectors"``: the bordered block pattern of :func:`_sector_pattern`. Column
    sums of A are 0.3-0.6; capital goods are the first tenth
    of the products (3 per activity, ~1.5 units of capital per unit of capacity),
    base-year output ``x`` solves ``(I - A - delta K) x = c`` so the base year
    consumes ``c`` and replaces what wears out; capacity is 1.1 x and labour 1.05
    times what x needs. Returns ``(economy, c)``.
    """
    from gosplan.economy import Economy

    rng = np.random.default_rng(seed)
    if structure == "random":
        k = min(8, n - 1)
        rows = np.concatenate([rng.choice(n, size=k, replace=False) for _ in range(n)])
        cols = np.repeat(np.arange(n), k)
    elif structure == "sectors":
        rows, cols = _sector_pattern(n, rng)
    else:
        raise ValueError(f"structure must be 'random' or 'sectors', not {structure!r}")
    A = sp.csc_array((rng.uniform(0.2, 1.0, len(rows)), (rows, cols)), shape=(n, n))
    A.sum_duplicates()
    colsum = np.asarray(A.sum(axis=0)).ravel()
    A = sp.csc_array(A @ sp.diags_array(rng.uniform(0.3, 0.6, n) / colsum))
    ncap = max(1, n // 10)
    kr = rng.integers(0, ncap, size=3 * n)
    kc = np.repeat(np.arange(n), 3)
    K = sp.csc_array((rng.uniform(0.2, 0.8, 3 * n), (kr, kc)), shape=(n, n))
    K.sum_duplicates()
    labour = rng.uniform(0.2, 1.0, n)
    c = rng.uniform(1.0, 10.0, n)
    # (A + delta K) has column sums below 0.7, so the Neumann series converges fast;
    # a sparse LU of a random 10,000-product table would fill in and take minutes
    M = sp.csr_array(A + depreciation * K)
    x = c.copy()
    for _ in range(200):
        nxt = c + M @ x
        if np.abs(nxt - x).max() <= 1e-12 * np.abs(nxt).max():
            x = nxt
            break
        x = nxt
    if (x <= 0).any():
        raise RuntimeError("synthetic economy is not productive; change the seed")
    ids = [f"p{i}" for i in range(n)]
    eco = Economy(
        products=ids,
        activities=pd.DataFrame({"capacity": 1.1 * x}, index=ids),
        factors=pd.DataFrame({"available": [1.05 * float(labour @ x)]}, index=["labour"]),
        use=A,
        make=sp.identity(n, format="csr"),
        factor_use=labour.reshape(1, -1),
        capital=K,
        name=f"synthetic n={n}",
    )
    return eco, pd.Series(c, index=ids)


class PeakRSS:
    """Samples the resident set size in a thread (HiGHS allocates outside Python)."""

    def __init__(self, every: float = 0.05):
        import psutil

        self.proc = psutil.Process()
        self.every = every
        self.peak = 0
        self._stop = threading.Event()

    def __enter__(self):
        self.start = self.proc.memory_info().rss
        self.peak = self.start
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()
        return self

    def _run(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, self.proc.memory_info().rss)
            time.sleep(self.every)

    def __exit__(self, *exc):
        self._stop.set()
        self._t.join()
        self.peak = max(self.peak, self.proc.memory_info().rss)

    @property
    def extra_mib(self) -> float:
        return (self.peak - self.start) / 2**20


def run_one(n: int, T: int, time_limit: float, peer: bool, structure: str = "random", method: str = "structured_ipm",
            build_only: bool = False, tol: float = 1e-7, accuracy: float = 1e-3, peer_time_limit: float = 120.0) -> dict:
    from gosplan.planning.dynamic import MaxConsumption, build_dynamic_lp, dynamic_spec, read_back
    from gosplan.planning.dynamic.methods.approx import solve_approximate
    from gosplan.planning.dynamic.methods.ipm import solve_structured
    from gosplan.planning.solver import SolverOptions, SolverStatus, relative_accuracy, solve_lp

    eco, d = synthetic_economy(n, depreciation=0.05, structure=structure)
    lags = pd.Series(np.where(np.arange(n) % 3 == 0, 2, 1), index=eco.activity_ids)
    objective = MaxConsumption(basket=d, discount=0.03)
    gc.collect()
    with PeakRSS() as mem_build:
        t0, c0 = time.perf_counter(), time.process_time()
        spec = dynamic_spec(eco, T, final_demand=0.5 * d, depreciation=0.05, lag=lags, factor_growth=0.02)
        lp, layout = build_dynamic_lp(eco, spec, objective)
        build_s, build_cpu = time.perf_counter() - t0, time.process_time() - c0
    if build_only:
        return {"structure": structure, "n": n, "T": T, "rows": lp.shape[0], "cols": lp.shape[1], "nnz": int(lp.A.nnz),
                "build_s": build_s, "build_cpu_s": build_cpu, "build_MiB": mem_build.extra_mib}
    with PeakRSS() as mem_solve:
        w1, c1 = time.perf_counter(), time.process_time()
        opts = SolverOptions(method=method, time_limit=time_limit, threads=1, tol=tol)
        fallback = ""
        if method == "pdlp":
            # the path plan_dynamic takes for method="pdlp": PDLP, repair, per-period polish, certificate
            res = solve_approximate(lp, layout, spec, eco, opts, accuracy)
        elif method == "structured_ipm":
            # the path plan_dynamic's auto takes for large plans, here at every size
            res, fallback = solve_structured(lp, layout, spec, opts)
            if res is not None and res.status not in (SolverStatus.OPTIMAL, SolverStatus.TIME_LIMIT):
                fallback, res = f"{res.status}: {res.info.get('failure', '')}", None
            if res is None:  # does not apply or failed: HiGHS, as plan_dynamic does
                res = solve_lp(lp, opts)
        else:
            res = solve_lp(lp, opts)
        solve_cpu = time.process_time() - c1
        solve_wall = time.perf_counter() - w1
        accepted = res.status.ok or str(res.status) == "approximate"
        t1 = time.perf_counter()
        plan = read_back(eco, spec, objective, lp, layout, res) if accepted else None
        read_s = time.perf_counter() - t1
    row = {
        "structure": structure,
        "method": method,
        "n": n,
        "T": T,
        "rows": lp.shape[0],
        "cols": lp.shape[1],
        "nnz": int(lp.A.nnz),
        "build_s": build_s,
        "build_cpu_s": build_cpu,
        "solve_s": solve_wall,
        "solve_cpu_s": solve_cpu,
        "read_s": read_s,
        "status": str(res.status),
        "solved_by": res.method,
        "fallback": fallback,
        "iterations": res.iterations,
        "build_MiB": mem_build.extra_mib,
        "solve_MiB": mem_solve.extra_mib,
        "verify_ok": None,
        "load_1min": __import__("os").getloadavg()[0],
    }
    if np.isfinite(res.x).all() and np.isfinite(res.row_duals).all():
        acc = relative_accuracy(lp, res.x, res.row_duals, res.col_duals)
        row.update(rel_primal_inf=acc["primal"], rel_dual_inf=acc["dual"], rel_gap=acc["gap"], objective=acc["objective"],
                   dual_bound=acc["dual_objective"])
    if "pdlp_accuracy" in res.info:
        row["pdlp_raw_rel_primal_inf"] = res.info["pdlp_accuracy"]["primal"]
        row["stage"] = res.info["stage"]
    if plan is not None:
        t2 = time.perf_counter()
        row["verify_ok"] = plan.verify(eco) == []
        row["verify_s"] = time.perf_counter() - t2
    if peer and accepted:
        from scipy.optimize import linprog

        c = -lp.c if lp.sense == "max" else lp.c
        A = sp.csr_array(lp.A)
        # linprog has no ranged rows: split them into <= rows
        up = np.isfinite(lp.row_upper)
        lo = np.isfinite(lp.row_lower)
        eq = up & lo & (lp.row_lower == lp.row_upper)
        ub_rows = up & ~eq
        lb_rows = lo & ~eq
        A_ub = sp.vstack([A[ub_rows], -A[lb_rows]], format="csr")
        b_ub = np.concatenate([lp.row_upper[ub_rows], -lp.row_lower[lb_rows]])
        t3, c3 = time.perf_counter(), time.process_time()
        peer_res = linprog(
            c, A_ub=A_ub, b_ub=b_ub, A_eq=A[eq], b_eq=lp.row_lower[eq],
            bounds=np.column_stack([lp.col_lower, np.where(np.isinf(lp.col_upper), None, lp.col_upper)]),
            method="highs", options={"time_limit": peer_time_limit},
        )
        row["peer_s"] = time.perf_counter() - t3
        row["peer_cpu_s"] = time.process_time() - c3
        row["peer_status"] = peer_res.status
        if peer_res.status == 0:
            peer_obj = -peer_res.fun if lp.sense == "max" else peer_res.fun
            row["objective_rel_diff"] = abs(peer_obj - res.objective) / max(1.0, abs(peer_obj))
        row["ratio_gosplan_over_scipy"] = (build_cpu + solve_cpu) / row["peer_cpu_s"]
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default=None, help="comma-separated NxT, e.g. 100x5,1000x10 (default: the 3 x 3 grid)")
    ap.add_argument("--time-limit", type=float, default=600.0, help="seconds per solve")
    ap.add_argument("--no-peer", action="store_true", help="skip SciPy's linprog")
    ap.add_argument("--structure", default="random,sectors", help="random, sectors or both (comma-separated)")
    ap.add_argument("--build-only", action="store_true", help="time and measure the model build only")
    ap.add_argument("--method", default="structured_ipm",
                    help="structured_ipm (default: gosplan's exact structured method, HiGHS where it does not apply), "
                    "auto, simplex, ipm (HiGHS), pdlp (PDLP + repair + polish, status APPROXIMATE)")
    ap.add_argument("--peer-time-limit", type=float, default=120.0, help="seconds for SciPy's linprog")
    ap.add_argument("--tol", type=float, default=1e-7, help="solver tolerance (PDLP: its relative optimality tolerance)")
    ap.add_argument("--accuracy", type=float, default=1e-3, help="pdlp: relative dual infeasibility and gap accepted")
    ap.add_argument("--peer-max", type=int, default=10_000, help="run the SciPy peer only where n x T <= this")
    args = ap.parse_args()
    sizes = DEFAULT_SIZES if args.sizes is None else [tuple(int(v) for v in s.split("x")) for s in args.sizes.split(",")]

    import highspy
    import scipy
    from threadpoolctl import threadpool_info

    print(
        "BLAS/OpenMP:",
        [
            (i.get("internal_api"), i.get("filepath", "").rsplit("/", 1)[-1], i.get("num_threads"), i.get("architecture"))
            for i in threadpool_info()
        ],
    )
    print(f"highspy {highspy.__version__ if hasattr(highspy, '__version__') else '?'}, scipy {scipy.__version__}")
    print("load average (1, 5, 15 min):", __import__("os").getloadavg())
    rows = []
    for structure in args.structure.split(","):
        for n, T in sizes:
            r = run_one(n, T, args.time_limit, peer=not args.no_peer and n * T <= args.peer_max, structure=structure,
                        method=args.method, build_only=args.build_only, tol=args.tol, accuracy=args.accuracy,
                        peer_time_limit=args.peer_time_limit)
            rows.append(r)
            if args.build_only:
                print(f"{structure:>7} n={n:>6} T={T:>3}: {r['rows']:>9,} rows {r['cols']:>9,} cols {r['nnz']:>10,} nnz | "
                      f"build {r['build_s']:7.2f} s wall / {r['build_cpu_s']:6.2f} s CPU, +{r['build_MiB']:7.1f} MiB", flush=True)
                continue
            print(
                f"{structure:>7} n={n:>6} T={T:>3}: {r['rows']:>9,} rows {r['cols']:>9,} cols {r['nnz']:>10,} nnz | "
                f"build {r['build_s']:7.2f} s "
                f"solve {r['solve_s']:8.2f} s wall / {r['solve_cpu_s']:8.2f} s CPU ({r['status']}, {r['iterations']:,} it) "
                f"read {r['read_s']:5.2f} s | "
                f"+{r['build_MiB']:7.1f} MiB build, +{r['solve_MiB']:7.1f} MiB solve | verify {r['verify_ok']}"
                + (
                    f" | rel. primal inf {r['rel_primal_inf']:.1e}, dual inf {r['rel_dual_inf']:.1e}, gap {r['rel_gap']:.1e}"
                    if "rel_gap" in r
                    else ""
                )
                + f" | load {r['load_1min']:.2f}"
                + (f" | by {r['solved_by']}" + (f" (structured: {r['fallback']})" if r["fallback"] else ""))
                + (f" | scipy.linprog {r['peer_cpu_s']:.2f} s CPU, CPU ratio {r['ratio_gosplan_over_scipy']:.2f}, "
                   + (f"objective diff {r['objective_rel_diff']:.1e}" if "objective_rel_diff" in r
                      else f"not solved (status {r['peer_status']})")
                   if "peer_s" in r else ""),
                flush=True,
            )
    print(pd.DataFrame(rows).to_string(index=False))


if __name__ == "__main__":
    main()
