"""Multi-period plans: build and solve time and memory, n products x T periods.

A synthetic economy per size (one activity per product, ~8 inputs per column with
column sums about 0.5, capital in the first tenth of the products, labour as the
one factor, capacity at the Leontief output of a final demand) planned with
``MaxConsumption`` over T periods with depreciation, one- and two-period lags and
the terminal stock condition. The peer is SciPy's ``linprog(method="highs")`` on
the very same LP (the same HiGHS engine without gosplan's seam), timed in the same
process, printed as a ratio.

Run: env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/bench_dynamic.py [--sizes 100x5,1000x10] [--time-limit 600] [--no-peer]
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


def synthetic_economy(n: int, seed: int = 0, depreciation: float = 0.05):
    """A random sparse economy that can replace its depreciating capital.

    ~8 inputs per product (column sums 0.3-0.6), capital goods are the first tenth
    of the products (3 per activity, ~1.5 units of capital per unit of capacity),
    base-year output ``x`` solves ``(I - A - delta K) x = c`` so the base year
    consumes ``c`` and replaces what wears out; capacity is 1.1 x and labour 1.05
    times what x needs. Returns ``(economy, c)``.
    """
    from scipy.sparse.linalg import splu

    from gosplan.economy import Economy

    rng = np.random.default_rng(seed)
    k = min(8, n - 1)
    rows = np.concatenate([rng.choice(n, size=k, replace=False) for _ in range(n)])
    cols = np.repeat(np.arange(n), k)
    A = sp.csc_array((rng.uniform(0.2, 1.0, n * k), (rows, cols)), shape=(n, n))
    colsum = np.asarray(A.sum(axis=0)).ravel()
    A = sp.csc_array(A @ sp.diags_array(rng.uniform(0.3, 0.6, n) / colsum))
    ncap = max(1, n // 10)
    kr = rng.integers(0, ncap, size=3 * n)
    kc = np.repeat(np.arange(n), 3)
    K = sp.csc_array((rng.uniform(0.2, 0.8, 3 * n), (kr, kc)), shape=(n, n))
    K.sum_duplicates()
    labour = rng.uniform(0.2, 1.0, n)
    c = rng.uniform(1.0, 10.0, n)
    x = splu(sp.csc_matrix(sp.identity(n, format="csc") - A - depreciation * K)).solve(c)
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


def run_one(n: int, T: int, time_limit: float, peer: bool) -> dict:
    from gosplan.planning.dynamic import MaxConsumption, _read_back, build_dynamic_lp, dynamic_spec
    from gosplan.planning.solver import SolverOptions, solve_lp

    eco, d = synthetic_economy(n, depreciation=0.05)
    lags = pd.Series(np.where(np.arange(n) % 3 == 0, 2, 1), index=eco.activity_ids)
    objective = MaxConsumption(basket=d, discount=0.03)
    gc.collect()
    with PeakRSS() as mem_build:
        t0 = time.perf_counter()
        spec = dynamic_spec(eco, T, final_demand=0.5 * d, depreciation=0.05, lag=lags, factor_growth=0.02)
        lp, layout = build_dynamic_lp(eco, spec, objective)
        build_s = time.perf_counter() - t0
    with PeakRSS() as mem_solve:
        res = solve_lp(lp, SolverOptions(time_limit=time_limit))
        t1 = time.perf_counter()
        plan = _read_back(eco, spec, objective, lp, layout, res) if res.status.ok else None
        read_s = time.perf_counter() - t1
    row = {
        "n": n,
        "T": T,
        "rows": lp.shape[0],
        "cols": lp.shape[1],
        "nnz": int(lp.A.nnz),
        "build_s": build_s,
        "solve_s": res.seconds,
        "read_s": read_s,
        "status": str(res.status),
        "iterations": res.iterations,
        "build_MiB": mem_build.extra_mib,
        "solve_MiB": mem_solve.extra_mib,
        "verify_ok": None,
    }
    if plan is not None:
        t2 = time.perf_counter()
        row["verify_ok"] = plan.verify(eco) == []
        row["verify_s"] = time.perf_counter() - t2
    if peer and res.status.ok:
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
        t3 = time.perf_counter()
        peer_res = linprog(
            c, A_ub=A_ub, b_ub=b_ub, A_eq=A[eq], b_eq=lp.row_lower[eq],
            bounds=np.column_stack([lp.col_lower, np.where(np.isinf(lp.col_upper), None, lp.col_upper)]),
            method="highs", options={"time_limit": time_limit},
        )
        row["peer_s"] = time.perf_counter() - t3
        row["peer_status"] = peer_res.status
        if peer_res.status == 0:
            peer_obj = -peer_res.fun if lp.sense == "max" else peer_res.fun
            row["objective_rel_diff"] = abs(peer_obj - res.objective) / max(1.0, abs(res.objective))
        row["ratio_gosplan_over_scipy"] = (build_s + res.seconds) / row["peer_s"]
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default=None, help="comma-separated NxT, e.g. 100x5,1000x10 (default: the 3 x 3 grid)")
    ap.add_argument("--time-limit", type=float, default=600.0, help="seconds per solve")
    ap.add_argument("--no-peer", action="store_true", help="skip SciPy's linprog")
    args = ap.parse_args()
    sizes = DEFAULT_SIZES if args.sizes is None else [tuple(int(v) for v in s.split("x")) for s in args.sizes.split(",")]

    import highspy
    import scipy
    from threadpoolctl import threadpool_info

    print("BLAS/OpenMP:", [(i.get("internal_api"), i.get("filepath", "").rsplit("/", 1)[-1], i.get("num_threads"), i.get("architecture")) for i in threadpool_info()])
    print(f"highspy {highspy.__version__ if hasattr(highspy, '__version__') else '?'}, scipy {scipy.__version__}")
    rows = []
    for n, T in sizes:
        r = run_one(n, T, args.time_limit, peer=not args.no_peer and n * T <= 100_000)
        rows.append(r)
        print(
            f"n={n:>6} T={T:>3}: {r['rows']:>9,} rows {r['cols']:>9,} cols {r['nnz']:>10,} nnz | build {r['build_s']:7.2f} s "
            f"solve {r['solve_s']:8.2f} s ({r['status']}, {r['iterations']:,} it) read {r['read_s']:5.2f} s | "
            f"+{r['build_MiB']:7.1f} MiB build, +{r['solve_MiB']:7.1f} MiB solve | verify {r['verify_ok']}"
            + (f" | scipy.linprog {r['peer_s']:.2f} s, ratio {r['ratio_gosplan_over_scipy']:.2f}, "
               f"objective diff {r.get('objective_rel_diff', float('nan')):.1e}" if "peer_s" in r else ""),
            flush=True,
        )
    print(pd.DataFrame(rows).to_string(index=False))


if __name__ == "__main__":
    main()
