"""Leontief solves at scale: gosplan against pymrio and numpy.linalg.inv, in one run.

Workload per size: gross output for 7 final-demand columns, x = (I - A)^{-1} Y,
and multipliers for 3 factor rows, M = S (I - A)^{-1}.

* dense, n = 2,000 / 4,900 / 9,800 (EXIOBASE-sized): the same synthetic economy
  (seeded) for every implementation: pymrio (``calc_L``, ``calc_x_from_L``'s
  ``L.dot(Y)``, ``calc_M``), plain numpy (``inv(I - A)``, then products), and
  gosplan's seam (``linalg.factorize`` once, then one solve for Y and one
  transposed solve for S; float64 LU, float32 LU with refinement to 1e-10;
  and without any factorization: GMRES on the dense A (float64, and with a
  float32 copy for the inner iterations refined in float64: GMRES-IR), the dense
  Neumann series, and ``auto``, which picks GMRES here).  Every iterative
  method stops at relative residual 1e-10 per column, measured in float64.
  pymrio's ``calc_x_from_L`` names its single result column "indout", so for 7
  demand columns the benchmark runs its body, ``L.dot(Y)``.  The printed
  difference is the largest relative difference from pymrio's X and M.
* sparse, n = 10^5 / 10^6 / 10^7 with 50 inputs per product: gosplan alone
  (Neumann series on threads: the compiled fused kernels, float64 and float32
  values, the fused kernels without the transposed copy (the transposed step
  scattering into per-thread buffers, as for a matrix mapped from disk), and the
  same series on SciPy's CSR products, as gosplan ran before the kernels); the
  memory-bandwidth bound of the iteration (bytes read per iteration x iterations /
  measured bandwidth) is printed beside the time.  After the timed
  workload (its first solves, which pay for first touches of fresh memory), x for 1
  demand, the 7 demands and the 3 factors are solved ``--repeat`` more times with the
  same solver, which by then reuses its blocks of memory, and the best is printed too.
  The transposed solve runs on the solver's transposed copy of A, built on the first
  transposed solve (in parallel) and kept; its build time is printed apart.
  ``--threads 1,2,...`` (default: 1, 2, 4, ... up to the machine's cores) runs each sparse
  case once per thread count, and a last table gives, per count, each workload's best
  time over its bound (bound measured with as many threads reading), and the transposed
  workload's ratio over the forward one's: the scaling on the machine it runs on.

Each case runs in its own child process so that its peak resident memory is
its own: RSS is sampled every 2 ms during the computation (and checked against
``getrusage``), and the figure reported is the peak above the RSS after the
inputs were built (BLAS buffers included, which tracemalloc would miss).

Usage::

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/bench_leontief.py
    ... --sizes 2000,4900        # a subset; sizes >= 50,000 are the sparse cases
    ... --sizes 1e6 --impls gosplan_neumann --threads 1,2
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))

DENSE_SIZES = [2_000, 4_900, 9_800]
SPARSE_SIZES = [100_000, 1_000_000, 10_000_000]
DENSE_IMPLS = ["pymrio", "numpy_inv", "gosplan_dense", "gosplan_dense32", "gosplan_gmres",
               "gosplan_gmres_f32", "gosplan_neumann_dense", "gosplan_auto"]
TOL = 1e-10
SPARSE_IMPLS = ["gosplan_neumann", "gosplan_neumann_scatter", "gosplan_neumann_scipy", "gosplan_neumann_f32"]
SPARSE_MIN = 50_000
INPUTS_PER_PRODUCT = 50
NEAR_WINDOW = 5_000  # 45 of the 50 inputs come from a window of this many neighbouring products
HUBS = 1_000  # the other 5 from this many hub products (energy, transport, trade, finance)
K_DEMAND, K_FACTORS = 7, 3


# -- inputs --------------------------------------------------------------------------------


def dense_economy(n: int, seed: int = 2024):
    """Dense A (uniform entries) with column sums drawn from U(0.2, 0.85), like the
    intermediate-input shares of real tables (WIOD 2011: median 0.57, max 0.86); Y and S positive."""
    rng = np.random.default_rng(seed)
    A = rng.random((n, n))
    A *= rng.uniform(0.2, 0.85, n) / A.sum(axis=0)
    Y = rng.uniform(0, 1000, (n, K_DEMAND))
    S = rng.uniform(0, 1, (K_FACTORS, n))
    return A, Y, S


def sparse_economy(n: int, dtype=np.float64, seed: int = 2024, chunk: int = 500_000):
    """CSR A with 50 distinct inputs per product row, built chunk by chunk without a full-size temporary.

    45 inputs are stratified over a window of 5,000 neighbouring products
    (supply chains cluster when products are ordered by industry) and 5 come
    from 1,000 "hub" products spread over the economy (energy, transport,
    trade, finance: the inputs every product buys); column sums are then
    scaled to U(0.2, 0.85).
    """
    import scipy.sparse as sp

    rng = np.random.default_rng(seed)
    k, near = INPUTS_PER_PRODUCT, INPUTS_PER_PRODUCT - 5
    w = min(NEAR_WINDOW, n // 4)
    nnz = n * k
    idx_dtype = np.int32 if nnz < 2**31 else np.int64
    indptr = np.arange(0, nnz + 1, k, dtype=idx_dtype)
    indices = np.empty(nnz, dtype=idx_dtype)
    data = np.empty(nnz, dtype=dtype)
    near_edges = np.linspace(-w // 2, w // 2, near + 1).astype(np.int64)
    hubs = np.sort(rng.choice(n, size=min(HUBS, n), replace=False))
    hub_edges = np.linspace(0, len(hubs), 6).astype(np.int64)
    colsum = np.zeros(n)
    for r0 in range(0, n, chunk):
        r1 = min(n, r0 + chunk)
        m = r1 - r0
        offsets = near_edges[:-1] + (rng.random((m, near)) * np.diff(near_edges)).astype(np.int64)
        cols = (np.arange(r0, r1)[:, None] + offsets) % n
        pick = hub_edges[:-1] + (rng.random((m, 5)) * np.diff(hub_edges)).astype(np.int64)
        far = hubs[pick]
        # a hub inside the row's window would repeat a column: move it to the next hub
        clash = (far[:, :, None] == cols[:, None, :]).any(axis=2)
        far[clash] = hubs[(pick[clash] + len(hubs) // 2) % len(hubs)]
        cols = np.concatenate([cols, far], axis=1)
        cols.sort(axis=1)
        for i in np.flatnonzero((np.diff(cols, axis=1) == 0).any(axis=1)):  # rare repeats: redraw
            row = np.unique(cols[i])
            while len(row) < k:
                row = np.unique(np.append(row, rng.integers(0, n)))
            cols[i] = row
        indices[r0 * k : r1 * k] = cols.ravel()
        vals = rng.random(m * k)
        data[r0 * k : r1 * k] = vals
        colsum += np.bincount(cols.ravel(), weights=vals, minlength=n)
    scale = rng.uniform(0.2, 0.85, n) / colsum
    for r0 in range(0, nnz, chunk * k):
        r1 = min(nnz, r0 + chunk * k)
        data[r0:r1] *= scale[indices[r0:r1]].astype(dtype)
    A = sp.csr_array((n, n), dtype=dtype)
    # set the arrays directly: the constructor would check and possibly copy 10^9 entries
    A.indptr, A.indices, A.data = indptr, indices, data
    A.has_sorted_indices = True
    A.has_canonical_format = True
    Y = rng.uniform(0, 1000, (n, K_DEMAND))
    S = rng.uniform(0, 1, (K_FACTORS, n))
    return A, Y, S


# -- measuring -------------------------------------------------------------------------------


def rss() -> int:
    import psutil

    return psutil.Process().memory_info().rss


class PeakRSS:
    """Sample RSS every 2 ms in a thread while the block runs."""

    def __enter__(self):
        self.base = rss()
        self.peak = self.base
        self.maxrss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, rss())
            time.sleep(0.002)

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss())
        maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        if maxrss > self.maxrss0:  # the kernel saw a higher peak than the sampler
            self.peak = max(self.peak, maxrss)
        self.extra = self.peak - self.base


def bandwidth(nbytes: int = 1024 * 2**20, reps: int = 5, cores: int | None = None) -> dict:
    """Read bandwidth in bytes/s: one thread reading a large array, and all cores on parts of it.

    Two readers: NumPy's sum, and where the compiled kernels are built, their ``read``
    (SIMD loads, nothing else), which on the development VM reads up to about 1.5x
    faster than NumPy's sum (55 against 35 GB/s on two cores).  The best of ``reps``
    single passes of each: on a shared machine the fastest pass is the closest to what
    the memory can do, so the bound is the strictest.  1 GiB, far more than the L3,
    so the figure is DRAM's.
    """
    from concurrent.futures import ThreadPoolExecutor

    a = np.ones(nbytes // 8)
    readers = {"numpy": lambda lo, hi: a[lo:hi].sum()}
    series = _series_module()
    if series is not None:
        readers["kernel"] = lambda lo, hi: series.read(a, lo, hi)
    cores = cores or os.cpu_count() or 1
    cuts = np.linspace(0, a.size, cores + 1).astype(int)
    out = {}
    with ThreadPoolExecutor(cores) as pool:
        for name, read in readers.items():
            read(0, a.size)
            one = many = 0.0
            for _ in range(reps):
                t = time.perf_counter()
                read(0, a.size)
                one = max(one, a.nbytes / (time.perf_counter() - t))
                t = time.perf_counter()
                list(pool.map(read, cuts[:-1], cuts[1:]))
                many = max(many, a.nbytes / (time.perf_counter() - t))
            out[f"one_thread_{name}"], out[f"all_cores_{name}"] = one, many
    return out


# -- the implementations ---------------------------------------------------------------------


def run_dense(impl: str, A, Y, S):
    n = A.shape[0]
    if impl == "pymrio":
        import pandas as pd
        import pymrio

        idx = pd.Index([f"p{i}" for i in range(n)])
        A_df = pd.DataFrame(A, index=idx, columns=idx, copy=False)
        Y_df = pd.DataFrame(Y, index=idx, copy=False)
        S_df = pd.DataFrame(S, columns=idx, copy=False)
        with PeakRSS() as mem:
            t = time.perf_counter()
            L = pymrio.calc_L(A_df)
            X = L.dot(Y_df)  # what calc_x_from_L does, for 7 columns at once
            M = pymrio.calc_M(S_df, L)
            seconds = time.perf_counter() - t
        return seconds, mem, X.to_numpy(), M.to_numpy(), {}
    if impl == "numpy_inv":
        with PeakRSS() as mem:
            t = time.perf_counter()
            L = np.linalg.inv(np.eye(n) - A)
            X = L @ Y
            M = S @ L
            seconds = time.perf_counter() - t
        return seconds, mem, X, M, {}
    from gosplan import linalg

    if impl == "gosplan_auto":
        # the one-shot seam: each call sees its right-hand sides and chooses for itself
        with PeakRSS() as mem:
            t = time.perf_counter()
            rx = linalg.solve(A, Y, tol=TOL)
            rm = linalg.solve(A, S.T, transpose=True, tol=TOL)
            seconds = time.perf_counter() - t
        info = {"residual": max(rx.residual, rm.residual), "iterations": f"{rx.iterations}+{rm.iterations}",
                "chosen": str(rx.method)}
        return seconds, mem, rx.x, rm.x.T, info
    method, single = {"gosplan_dense": ("dense", False), "gosplan_dense32": ("dense32", False),
                      "gosplan_gmres": ("dense-gmres", False), "gosplan_gmres_f32": ("dense-gmres", True),
                      "gosplan_neumann_dense": ("dense-neumann", False)}[impl]
    with PeakRSS() as mem:
        t = time.perf_counter()
        fact = linalg.factorize(A, method, tol=TOL, allow_float32=single)
        rx = fact.solve(Y)
        px = getattr(fact, "passes", None)
        rm = fact.solve(S.T, transpose=True)
        seconds = time.perf_counter() - t
    info = {"residual": max(rx.residual, rm.residual), "iterations": f"{rx.iterations}+{rm.iterations}"}
    if px is not None:
        info["passes"] = f"{px}+{fact.passes}"
    return seconds, mem, rx.x, rm.x.T, info


def run_sparse(impl: str, n: int, repeat: int, threads: int | None = None):
    from gosplan import linalg

    single = impl.endswith("f32")
    dtype = np.float32 if single else np.float64
    t = time.perf_counter()
    A, Y, S = sparse_economy(n, dtype)
    build = time.perf_counter() - t
    bw = bandwidth(cores=threads)
    tol = 1e-6 if single else 1e-10
    with PeakRSS() as mem:
        t = time.perf_counter()
        if impl.endswith("_scipy") or impl.endswith("_scatter"):
            from gosplan.linalg.iterative import SeriesSolver

            # _scatter: the transposed step without the transposed copy (as for a matrix on disk)
            fact = SeriesSolver(A, tol=tol, fused=impl.endswith("_scatter"), threads=threads,
                                transposed_copy=not impl.endswith("_scatter"))
        else:
            fact = linalg.factorize(A, "neumann", tol=tol, allow_float32=single, threads=threads)
        t1 = time.perf_counter()
        rx = fact.solve(Y)
        t2 = time.perf_counter()
        rm = fact.solve(S.T, transpose=True)
        t3 = time.perf_counter()
    matrix = A.data.nbytes + A.indices.nbytes + A.indptr.nbytes
    item = np.dtype(dtype).itemsize
    # then the workloads again on the same solver, which by then reuses its blocks of memory
    # (the first solves pay for first touches of fresh pages); the best of the repeats is,
    # like the bandwidth probe's best pass, the closest to what the machine can do
    workloads = {"x for 1 demand": (Y[:, 0].copy(), False, 1), "x for 7 demands": (Y, False, K_DEMAND),
                 "M for 3 factors": (S.T, True, K_FACTORS)}
    first = {"x for 7 demands": (t2 - t1, rx), "M for 3 factors": (t3 - t2, rm)}
    best: dict[str, tuple[float, object]] = {}
    for _ in range(repeat):
        for name, (rhs, transpose, _k) in workloads.items():
            t4 = time.perf_counter()
            res = fact.solve(rhs, transpose=transpose)
            secs = time.perf_counter() - t4
            first.setdefault(name, (secs, res))
            if name not in best or secs < best[name][0]:
                best[name] = (secs, res)
    # measured again after the solves; the better figure of the two sets the bound
    bw = {k: max(v, w) for (k, v), w in zip(bw.items(), bandwidth(cores=threads).values())}
    solves = []
    for name, (_rhs, _transpose, k) in workloads.items():
        if name not in first:  # no repeats: x for 1 demand was not solved
            continue
        secs, res = first[name]
        spmv = res.iterations + 1
        per_iter = matrix + 2 * n * k * item  # the matrix once, the iterate read and the product written
        bound = per_iter * spmv / max(bw.values())
        solves.append({
            "what": name, "seconds": secs, "best_seconds": best[name][0] if name in best else None, "spmv": spmv,
            "residual": res.residual, "bytes_per_iteration": per_iter, "bound_seconds": bound,
            "bound_seconds_numpy_bw": per_iter * spmv / max(bw["one_thread_numpy"], bw["all_cores_numpy"]),
        })
    return {
        "impl": impl, "n": n, "nnz": int(A.nnz), "build_seconds": build, "setup_seconds": t1 - t,
        "seconds": t3 - t, "peak_extra": mem.extra, "peak": mem.peak, "base_rss": mem.base,
        "matrix_bytes": matrix, "bandwidth": bw, "solves": solves, "threads": fact.op.threads,
        "kernel": f"fused ({_series_isa()})" if fact.fused else "scipy", "repeat": repeat,
        "transpose_seconds": getattr(fact, "transpose_seconds", None),
    }


def _series_module():
    from gosplan.linalg import iterative

    return iterative._series


def _series_isa() -> str:
    series = _series_module()
    return series.isa if series is not None else "not built"


def child(args) -> None:
    if args.n >= SPARSE_MIN:
        out = run_sparse(args.impl, args.n, args.repeat, args.threads_child or None)
    else:
        A, Y, S = dense_economy(args.n)
        seconds, mem, X, M, info = run_dense(args.impl, A, Y, S)
        np.save(Path(args.save) / f"{args.impl}_X.npy", np.asarray(X, dtype=np.float64))
        np.save(Path(args.save) / f"{args.impl}_M.npy", np.asarray(M, dtype=np.float64))
        out = {"impl": args.impl, "n": args.n, "seconds": seconds, "peak_extra": mem.extra, "peak": mem.peak,
               "base_rss": mem.base, **info}
    print("RESULT " + json.dumps(out))


# -- the driver ------------------------------------------------------------------------------


def spawn(impl: str, n: int, save: str, repeat: int = 0, threads: int = 0) -> dict:
    cmd = [sys.executable, __file__, "--child", "--impl", impl, "--n", str(n), "--save", save, "--repeat", str(repeat),
           "--threads-child", str(threads)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        return {"impl": impl, "n": n, "error": (proc.stderr or proc.stdout).strip().splitlines()[-1:]}
    line = next(l for l in proc.stdout.splitlines() if l.startswith("RESULT "))
    return json.loads(line[len("RESULT "):])


def gib(b: float) -> str:
    return f"{b / 2**30:7.2f} GiB"


def sparse_need(n: int, single: bool) -> int:
    item = 4 if single else 8
    matrix = n * INPUTS_PER_PRODUCT * (item + 4)
    vectors = n * 8 * (3 * K_DEMAND + 2) + n * item * 3 * K_DEMAND
    return matrix + vectors + 2 * 2**30


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--sizes", default=",".join(map(str, DENSE_SIZES + SPARSE_SIZES)),
                   help="comma-separated sizes (e.g. 2000,1e6); >= 50,000 runs the sparse case")
    p.add_argument("--impls", default="", help="comma-separated subset of the implementations (default: all)")
    p.add_argument("--repeat", type=int, default=None,
                   help="sparse cases: solve each workload this many more times on the same solver and "
                        "report the best beside the first (default 3, 1 from n = 5 * 10^6 on)")
    p.add_argument("--threads", default="",
                   help="sparse cases: comma-separated thread counts, each run on its own "
                        "(default 1, 2, 4, ... up to the machine's cores)")
    p.add_argument("--threads-child", type=int, default=0, help=argparse.SUPPRESS)
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--impl", help=argparse.SUPPRESS)
    p.add_argument("--n", type=int, help=argparse.SUPPRESS)
    p.add_argument("--save", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        child(args)
        return
    import psutil
    import scipy
    import threadpoolctl

    sizes = [int(float(s)) for s in args.sizes.split(",") if s.strip()]
    print(f"bench_leontief: {os.cpu_count()} cores, {gib(psutil.virtual_memory().total)} RAM, "
          f"numpy {np.__version__}, scipy {scipy.__version__}")
    np.ones(2).dot(np.ones(2))
    for info in threadpoolctl.threadpool_info():
        print(f"  BLAS: {info.get('internal_api')} {info.get('version')} {info.get('architecture', '')} "
              f"threads={info.get('num_threads')} ({info.get('threading_layer', '')})")
    print("  note: timings on a shared machine; other processes contend for cores and memory bandwidth")
    print(f"  load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}\n")
    wanted = {s.strip() for s in args.impls.split(",") if s.strip()}
    dense_impls = [i for i in DENSE_IMPLS if not wanted or i in wanted or i == "pymrio"]
    sparse_impls = [i for i in SPARSE_IMPLS if not wanted or i in wanted]

    dense = [n for n in sizes if n < SPARSE_MIN]
    if dense:
        print(f"dense: x for {K_DEMAND} demand columns + M for {K_FACTORS} factor rows; peak = RSS above the inputs")
        print(f"(iterative methods: tolerance {TOL:g} relative residual per column, float64; "
              "iterations x+m = solve for X + transposed solve for M; passes = products with A incl. residuals)")
        print(f"{'n':>6} {'impl':<22} {'seconds':>9} {'peak':>11} {'vs pymrio: speed':>17} {'memory':>8} "
              f"{'max rel diff vs pymrio':>23} {'residual':>9}  iterations")
    for n in dense:
        with tempfile.TemporaryDirectory() as tmp:
            print(f"  n={n}: load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
            rows = [spawn(impl, n, tmp) for impl in dense_impls]
            ref = {k: np.load(Path(tmp) / f"pymrio_{k}.npy") for k in ("X", "M")} \
                if (Path(tmp) / "pymrio_X.npy").exists() else None
            base = next((r for r in rows if r["impl"] == "pymrio" and "error" not in r), None)
            for r in rows:
                if "error" in r:
                    print(f"{n:>6} {r['impl']:<22} failed: {r['error']}")
                    continue
                diff = ""
                if ref is not None:
                    d = max(float(np.max(np.abs(np.load(Path(tmp) / f"{r['impl']}_{k}.npy") - ref[k]) / np.abs(ref[k])))
                            for k in ("X", "M"))
                    diff = f"{d:.1e}"
                speed = f"{base['seconds'] / r['seconds']:.2f}x" if base else ""
                memr = f"{r['peak_extra'] / base['peak_extra']:.3f}" if base and base["peak_extra"] > 0 else ""
                res = f"{r['residual']:.1e}" if "residual" in r else ""
                its = " ".join(f"{k}={r[k]}" for k in ("iterations", "passes", "chosen") if k in r)
                print(f"{n:>6} {r['impl']:<22} {r['seconds']:>9.2f} {gib(r['peak_extra'])} {speed:>17} {memr:>8} "
                      f"{diff:>23} {res:>9}  {its}", flush=True)

    sparse = sorted(n for n in sizes if n >= SPARSE_MIN)
    if sparse:
        print(f"\nsparse: {INPUTS_PER_PRODUCT} inputs per product, Neumann series; bound = bytes per iteration x "
              "SpMVs / bandwidth (best single pass over 1 GiB, 1 thread or all cores, NumPy's sum or the kernels' "
              "read, before and after)")
    cores = os.cpu_count() or 1
    counts = [int(t) for t in args.threads.split(",") if t.strip()] or \
        sorted({min(2**k, cores) for k in range(cores.bit_length() + 1)})
    scaling: list[dict] = []
    for n in sparse:
        print(f"  n={n:,}: load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
        for impl in sparse_impls:
            for threads in counts:
                need = sparse_need(n, impl.endswith("f32"))
                free = psutil.virtual_memory().available
                if need > 0.6 * free:
                    print(f"{n:>10,} {impl:<20} skipped: needs ~{gib(need)}, {gib(free)} free (shared machine)")
                    continue
                r = spawn(impl, n, "", args.repeat if args.repeat is not None else 3 if n < 5_000_000 else 1, threads)
                if "error" in r:
                    print(f"{n:>10,} {impl:<20} failed: {r['error']}")
                    continue
                bw = r["bandwidth"]
                copy = f", transposed copy built in {r['transpose_seconds']:.2f} s" if r.get("transpose_seconds") else ""
                print(f"{n:>10,} {impl:<20} nnz={r['nnz']:,} matrix {gib(r['matrix_bytes'])}, threads={r['threads']}, "
                      f"kernel {r['kernel']}, "
                      f"build {r['build_seconds']:.1f} s, peak above inputs {gib(r['peak_extra'])}{copy}")
                scaling.append(r)
                print(f"{'':>12}bandwidth GB/s: " + ", ".join(f"{k.replace('_', ' ')} {v / 1e9:.1f}" for k, v in bw.items()))
                for s in r["solves"]:
                    again = ""
                    if s["best_seconds"] is not None:
                        again = (f", best of {r['repeat']} more {s['best_seconds']:6.2f} s = "
                                 f"{s['best_seconds'] / s['bound_seconds']:.2f}x")
                    print(f"{'':>12}{s['what']:<16} bound {s['bound_seconds']:6.2f} s ({s['spmv']} SpMV, residual "
                          f"{s['residual']:.1e}): first {s['seconds']:6.2f} s = {s['seconds'] / s['bound_seconds']:.2f}x"
                          f"{again} the bound ({s['seconds'] / s['bound_seconds_numpy_bw']:.2f}x first with NumPy's sum "
                          "as the probe)", flush=True)
    if scaling:
        print_scaling(scaling)


def print_scaling(runs: list[dict]) -> None:
    """Per thread count: each workload's best time (first where no repeats) over its bound."""
    print("\nscaling: time / bandwidth bound per workload (bound with as many threads reading); "
          "last column: M for 3 factors over x for 7 demands")
    names = ["x for 1 demand", "x for 7 demands", "M for 3 factors"]
    print(f"{'n':>10} {'impl':<24} {'threads':>7} " + " ".join(f"{w:>16}" for w in names) + f" {'M / x7':>7}")
    for r in runs:
        ratio = {}
        for s in r["solves"]:
            secs = s["best_seconds"] if s["best_seconds"] is not None else s["seconds"]
            ratio[s["what"]] = secs / s["bound_seconds"]
        cells = " ".join(f"{ratio[w]:>15.2f}x" if w in ratio else f"{'':>16}" for w in names)
        rel = ratio["M for 3 factors"] / ratio["x for 7 demands"] if len(ratio) >= 2 else float("nan")
        print(f"{r['n']:>10,} {r['impl']:<24} {r['threads']:>7} {cells} {rel:>7.2f}", flush=True)


if __name__ == "__main__":
    main()
