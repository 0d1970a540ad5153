"""Benchmark: the Method of Equal Shares with the add1 completion.

1. Świecie 2023 (Pabulib; 2,553 voters, 22 projects, PLN 1,070,000): gosplan and pabutools
   (``method_of_equal_shares`` with ``Cost_Sat``, completed by ``exhaustion_by_budget_increase``
   with a budget step of one unit per voter) in the same process, on the same input; the
   ratio is printed (target: gosplan at least 50x faster) and both funded sets are checked
   against the city's.
2. A seeded synthetic city: 100,000 voters, 500 projects, approval ballots of 1 to 15
   projects drawn by a skewed popularity, costs log-normal around 150,000, budget 20% of the
   total cost; gosplan alone (target: under 30 s), printing the add1 steps.

Run: env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/bench_budgeting.py [--skip-pabutools]
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from gosplan.democracy.budgeting import equal_shares
from gosplan.democracy.pabulib import Election, read_pabulib

DATA = Path(__file__).resolve().parents[1] / "data" / "pabulib"  # the raw files kept in the repository


def blas_info() -> str:
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "threadpoolctl not installed"
    return "; ".join(
        f"{i.get('internal_api')} {i.get('version')} {i.get('architecture', '')} threads={i.get('num_threads')}"
        for i in threadpool_info()
    )


def synthetic_city(n: int = 100_000, m: int = 500, seed: int = 2026) -> Election:
    """Approval ballots of 1-15 projects; project popularity Dirichlet(0.6); costs
    log-normal (median 150,000, sigma 0.9) clipped to [5,000, 2,000,000]; budget 20% of
    the total cost."""
    rng = np.random.default_rng(seed)
    cost = np.round(rng.lognormal(np.log(150_000), 0.9, m), -2).clip(5_000, 2_000_000).astype(np.int64)
    popularity = rng.dirichlet(np.full(m, 0.6))
    lengths = rng.integers(1, 16, n)
    rows = np.repeat(np.arange(n, dtype=np.int64), lengths)
    picks = rng.choice(m, size=int(lengths.sum()), p=popularity)
    key = np.unique(rows * m + picks)  # one entry per (voter, project)
    rows, choices = key // m, (key % m).astype(np.int32)
    offsets = np.concatenate([[0], np.cumsum(np.bincount(rows, minlength=n))])
    budget = int(round(cost.sum() * 0.2, -3))
    projects = pd.DataFrame({"cost": cost}, index=pd.Index([f"p{i:03d}" for i in range(m)]))
    meta = {"description": "synthetic city", "budget": str(budget), "vote_type": "approval", "currency": "EUR"}
    return Election(meta=meta, projects=projects, voter_ids=pd.Index([f"v{i}" for i in range(n)]),
                    offsets=offsets, choices=choices)


def best_of(f, repeat: int):
    """Best wall time of ``repeat`` calls, the CPU time of that call, and its result."""
    best = (np.inf, np.inf)
    for _ in range(repeat):
        t, c = time.perf_counter(), time.process_time()
        out = f()
        best = min(best, (time.perf_counter() - t, time.process_time() - c))
    return best, out


def main() -> None:
    print(f"BLAS: {blas_info()}")
    print("(timings are wall clock on a shared machine; other jobs may slow them)")
    e = read_pabulib(DATA / "Poland_Swiecie_2023.pb")
    city = set(e.projects.index[e.projects["selected"] == 1])
    (t_gos, c_gos), out = best_of(lambda: equal_shares(e), 5)
    print(f"Świecie 2023: gosplan equal_shares add1: {t_gos:.3f} s wall, {c_gos:.3f} s CPU (best of 5), {out.add1_steps} add1 steps, "
          f"{len(out.funded)} funded, matches city: {set(out.funded) == city}")
    if "--skip-pabutools" not in sys.argv:
        from pabutools.election import Cost_Sat, parse_pabulib
        from pabutools.rules import exhaustion_by_budget_increase, method_of_equal_shares

        inst, prof = parse_pabulib(str(DATA / "Poland_Swiecie_2023.pb"))
        (t_pabu, c_pabu), ref = best_of(
            lambda: exhaustion_by_budget_increase(
                inst, prof, method_of_equal_shares, {"sat_class": Cost_Sat}, budget_step=prof.num_ballots()
            ),
            1,
        )
        same = {p.name for p in ref} == set(out.funded)
        print(f"Świecie 2023: pabutools: {t_pabu:.2f} s wall, {c_pabu:.2f} s CPU, same funded set: {same}")
        print(f"ratio pabutools / gosplan: {t_pabu / t_gos:.0f}x wall, {c_pabu / c_gos:.0f}x CPU (target >= 50x)")

    t = time.perf_counter()
    big = synthetic_city()
    print(f"synthetic city: {big.n_voters:,} voters, {big.n_projects} projects, {len(big.choices):,} approvals, "
          f"budget {big.budget:,.0f} (built in {time.perf_counter() - t:.1f} s)")
    steps = []
    (t_big, c_big), res = best_of(lambda: equal_shares(big, progress=lambda k, share, spent: steps.append(k)), 1)
    print(f"synthetic city: gosplan equal_shares add1: {t_big:.1f} s wall, {c_big:.1f} s CPU (target < 30 s), {res.add1_steps} add1 steps "
          f"({len(steps)} runs of the method), {len(res.funded)} funded, {res.total_cost / big.budget:.2%} of the budget spent, "
          f"{res.satisfied_share:.1%} of voters with a funded project")


if __name__ == "__main__":
    main()
