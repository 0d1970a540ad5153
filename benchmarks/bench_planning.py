"""Benchmark: optimal one-period plans on large sparse economies.

Economies: n products, 2 or 3 alternative single-output techniques per product
(about 2.5 n activities), 20 inputs per activity drawn at random over all
products (column sums of the input coefficients 0.3-0.7, so every choice of
techniques is productive), three factors: labour (the objective), energy and
land, both with a *binding* limit, and capacities on 10% of the labour-saving
techniques, set to bind. Technique 0 of each product is labour-heavy and uses
no energy-hungry or land inputs, technique 1 saves labour with energy,
technique 2 with land; the limits sit between the all-technique-0 plan (which
respects them, so the plan is possible) and the all-technique-1/2 plans (which
break them), so the optimum mixes techniques and is not a Leontief solve in
disguise.

Timed separately: building the model (``build_model``) and solving, per method;
accuracy reported as the largest primal and dual infeasibility (absolute,
recomputed from the arrays) and the relative primal-dual gap. Peers on the same
LP in the same process: ``scipy.optimize.linprog(method="highs")`` and demplan's
``reference_solution`` (which has no capacities: it is run, with gosplan, on the
LP without them).

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/bench_planning.py --sizes 1000,10000
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from gosplan.economy import Economy  # noqa: E402
from gosplan.planning import SolverOptions, Targets, build_model, optimal_plan, solve_lp  # noqa: E402
from gosplan.planning.objectives import MinFactor  # noqa: E402
from gosplan.planning.substitution import solve_substitution  # noqa: E402

INPUTS = 20


def generate(n: int, seed: int = 0):
    """The benchmark economy, floors, and the labour-heavy reference levels."""
    rng = np.random.default_rng(seed)
    k = rng.integers(2, 4, size=n)  # 2 or 3 techniques per product
    J = int(k.sum())
    product = np.repeat(np.arange(n), k)
    tech = np.arange(J) - np.repeat(np.cumsum(k) - k, k)
    rows = rng.integers(0, n, size=(J, INPUTS))
    vals = rng.uniform(0.0, 1.0, size=(J, INPUTS))
    vals *= (rng.uniform(0.3, 0.7, size=J) / vals.sum(axis=1))[:, None]
    use = sp.csr_array(
        (vals.ravel(), (rows.ravel(), np.repeat(np.arange(J), INPUTS))), shape=(n, J)
    )  # duplicates summed
    make = sp.csr_array((np.ones(J), (product, np.arange(J))), shape=(n, J))
    base = rng.uniform(0.5, 1.5, size=J)
    labour = np.where(tech == 0, 2.0 * base, 1.0 * base)
    energy = np.where(tech == 1, 2.0, 0.2) * rng.uniform(0.5, 1.5, size=J)
    land = np.where(tech == 2, 2.0, 0.0) * rng.uniform(0.5, 1.5, size=J)
    fu = sp.csr_array(np.vstack([labour, energy, land]))
    d = rng.uniform(0.5, 1.5, size=n)

    def leontief_levels(t: int) -> np.ndarray:
        """Levels when every product uses technique t (or 0 where it has none)."""
        sel = np.where(k > t, np.cumsum(k) - k + t, np.cumsum(k) - k)
        A = sp.csr_array(use[:, sel])
        x = d.copy()
        for _ in range(200):  # Neumann series: column sums <= 0.7
            nxt = d + A @ x
            if np.abs(nxt - x).max() <= 1e-12 * np.abs(nxt).max():
                break
            x = nxt
        z = np.zeros(J)
        z[sel] = nxt
        return z

    z0, z1, z2 = leontief_levels(0), leontief_levels(1), leontief_levels(2)
    e0, e1 = energy @ z0, energy @ z1
    l2 = land @ z2
    capacity = np.full(J, np.inf)
    capped = np.flatnonzero((tech == 1) & (rng.uniform(size=J) < 0.1))
    capacity[capped] = 0.5 * z1[capped]
    economy = Economy(
        products=[f"p{i}" for i in range(n)],
        activities=pd.DataFrame(
            {"capacity": capacity}, index=pd.Index([f"p{i}/t{t}" for i, t in zip(product, tech, strict=True)])
        ),
        factors=pd.DataFrame({"available": [np.inf, e0 + 0.4 * (e1 - e0), 0.3 * l2]}, index=["labour", "energy", "land"]),
        use=use,
        make=make,
        factor_use=fu,
        name=f"bench-{n}",
    )
    targets = Targets(floors=pd.Series(d, index=economy.product_ids))
    return economy, targets, z0


def blas() -> str:
    try:
        from threadpoolctl import threadpool_info

        return "; ".join(f"{i['internal_api']} {i.get('version')} ({i.get('threading_layer', '')}, {i['num_threads']} threads)"
                         for i in threadpool_info())
    except ImportError:
        return "threadpoolctl not installed"


def row(n, what, build, res, note="", cpu=float("nan")):
    print(
        f"{n:>8,} {what:<26} {build:8.2f} {res.seconds:9.2f} {cpu:8.2f} {str(res.status):<12} {res.objective:16.10g} "
        f"{res.primal_infeasibility:9.1e} {res.dual_infeasibility:9.1e} {res.gap:9.1e} {res.iterations:>9,} {note}",
        flush=True,
    )


def run(n: int, methods: list[str], time_limit: float, peers: bool) -> None:
    t = time.perf_counter()
    economy, targets, z0 = generate(n)
    gen = time.perf_counter() - t
    t = time.perf_counter()
    model = build_model(economy, targets)
    c, sense = MinFactor("labour").cost(model)
    lp = model.program(c, sense)
    build = time.perf_counter() - t
    print(f"\n# n = {n:,} products, {len(economy.activities):,} activities, nnz = {lp.A.nnz:,}; "
          f"generated in {gen:.1f} s, model built in {build:.2f} s", flush=True)
    best = None
    for m in methods:
        opts = SolverOptions(method=m, time_limit=time_limit)  # type: ignore[arg-type]
        start = None
        label = m
        if m.endswith("+start"):
            opts = SolverOptions(method=m.removesuffix("+start"), time_limit=time_limit)  # type: ignore[arg-type]
            start = z0
        cpu = time.process_time()
        if m == "substitution":
            res = solve_substitution(model, c, lp, opts)
        else:
            res = solve_lp(lp, opts, start=start)
        cpu = time.process_time() - cpu
        extra = ""
        if m == "substitution":
            extra = (f"; {res.info.get('cutting_planes')} cuts, {res.info.get('matvecs')} matvecs, "
                     f"{res.info.get('capacities_priced_as_limits', 0)} capacities priced as limits"
                     + (f"; {res.info['failure']}" if res.info.get("failure") else ""))
        row(n, label, build, res, f"build/solve = {build / max(res.seconds, 1e-9):.1%}{extra}", cpu)
        if res.status == "optimal" and (best is None or res.seconds < best.seconds):
            best = res
    if best is not None:
        # how binding is the plan?
        ax = best.row_activity
        fac = ax[model.rows["factor"]]
        caps = np.isfinite(model.capacities)
        at_cap = np.sum(np.abs(best.x[: len(caps)][caps] - model.capacities[caps]) <= 1e-7 * np.maximum(1, model.capacities[caps]))
        active = int((best.x[: len(caps)] > 1e-9).sum())
        print(f"#   energy used {fac[1]:.6g} of {model.row_upper[model.rows['factor']][1]:.6g}, land {fac[2]:.6g} of "
              f"{model.row_upper[model.rows['factor']][2]:.6g}; {at_cap} of {caps.sum()} capacities at bound; "
              f"{active:,} active activities for {n:,} products", flush=True)
    if peers:
        from scipy.optimize import linprog

        t = time.perf_counter()
        A = lp.A
        r = linprog(
            lp.c, A_ub=sp.vstack([-A[: n], A[n : n + 3]]).tocsr(),
            b_ub=np.r_[-lp.row_lower[:n], np.where(np.isfinite(lp.row_upper[n:n + 3]), lp.row_upper[n:n + 3], 1e30)],
            bounds=np.c_[lp.col_lower, np.where(np.isfinite(lp.col_upper), lp.col_upper, np.inf)],
            method="highs", options={"time_limit": time_limit},
        )
        sec = time.perf_counter() - t
        ratio = f"{sec / best.seconds:.2f}x gosplan's best" if best is not None else ""
        print(f"{n:>8,} {'scipy linprog(highs)':<26} {'':>8} {sec:9.2f} {r.message[:30]:<12} "
              f"{(r.fun if r.x is not None else float('nan')):16.10g}  {ratio}", flush=True)
        if n <= 1_000:
            demplan_compare(economy, targets, time_limit)
        else:
            print("#   demplan's reference_solution (scipy linprog, no time limit) is not run above n = 1,000", flush=True)


def demplan_compare(economy: Economy, targets: Targets, time_limit: float) -> None:
    try:
        import demplan
    except ImportError:
        print("#   demplan not installed: pip install demplan", flush=True)
        return
    import dataclasses

    n, J = len(economy.products), len(economy.activities)
    nocap = dataclasses.replace(economy, activities=economy.activities.assign(capacity=np.inf))
    t = time.perf_counter()
    csc = sp.csc_array(sp.vstack([economy.use, economy.factor_use[1:]]))  # energy, land as commodities n, n+1
    counts = np.diff(csc.indptr)
    rows = csc.indices.astype(np.int64)
    vals = csc.data
    # labour as commodity n+2: one more input per unit
    lab = economy.factor_use[[0]].toarray().ravel()
    ins = np.split(rows, np.cumsum(counts)[:-1])
    cfs = np.split(vals, np.cumsum(counts)[:-1])
    inputs = np.concatenate([np.r_[a, n + 2] for a in ins])
    coefs = np.concatenate([np.r_[b, lab[j]] for j, b in enumerate(cfs)])
    offsets = np.r_[0, np.cumsum(counts + 1)]
    avail = economy.factors["available"].to_numpy()
    econ = demplan.Economy(
        period=0, commodity_id=np.arange(n + 3), endowment=np.r_[np.zeros(n), avail[1], avail[2], 1e15],
        unit_id=np.arange(J), technology_kind=["leontief"] * J, technology_scale=np.ones(J),
        input_offsets=offsets, input_commodity=inputs, input_coefficient=coefs,
        output_offsets=np.arange(J + 1), output_commodity=economy.make.tocsc().indices.astype(np.int64),
        output_coefficient=np.ones(J), consumer_id=np.arange(1),
    )
    floor = np.r_[targets.resolve(economy).floor, 0.0, 0.0, 0.0]
    convert = time.perf_counter() - t
    t = time.perf_counter()
    try:
        ref = demplan.reference_solution(econ, demplan.MinimizeLabor(floor, np.array([n + 2])))
        dsec = time.perf_counter() - t
        dval = ref.objective_value
    except Exception as exc:  # demplan's own failure is a result to report
        dsec, dval = time.perf_counter() - t, float("nan")
        print(f"#   demplan failed: {exc}", flush=True)
    mine = optimal_plan(nocap, targets, "labour", options=SolverOptions(time_limit=time_limit), diagnose=False)
    ms = mine.solver["seconds"] + mine.solver["build_seconds"]
    print(f"{n:>8,} {'demplan reference (no cap)':<26} {convert:8.2f} {dsec:9.2f} {'':<12} {dval:16.10g}  "
          f"gosplan on the same LP: {ms:.2f} s, {mine.objective_value:.10g}; ratio demplan/gosplan {dsec / ms:.2f}x",
          flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="1000,10000,100000", help="comma-separated numbers of products")
    ap.add_argument("--methods", default=None, help="comma-separated solver methods (default depends on size)")
    ap.add_argument("--time-limit", type=float, default=300.0)
    ap.add_argument("--no-peers", action="store_true")
    args = ap.parse_args()
    print(f"# BLAS: {blas()}")
    from importlib.metadata import version

    # the installed version, without making a Highs (1.16 prints its banner on the first)
    print(f"# highspy {version('highspy')}; numpy {np.__version__}")
    print("# wall-clock seconds on a 2-core machine shared with other jobs; 'cpu s' is this process's CPU time")
    print(f"{'n':>8} {'method':<26} {'build s':>8} {'solve s':>9} {'cpu s':>8} {'status':<12} {'objective':>16} "
          f"{'primal':>9} {'dual':>9} {'gap':>9} {'iters':>9}")
    for n in [int(s) for s in args.sizes.split(",")]:
        if args.methods:
            methods = args.methods.split(",")
        elif n <= 1_000:
            methods = ["substitution", "auto", "dual_simplex", "ipm", "ipm_no_crossover", "pdlp"]
        elif n <= 10_000:
            methods = ["substitution", "ipm_no_crossover", "pdlp"]
        else:
            methods = ["substitution", "pdlp"]
        run(n, methods, args.time_limit, peers=not args.no_peers and n <= 10_000)


if __name__ == "__main__":
    main()
