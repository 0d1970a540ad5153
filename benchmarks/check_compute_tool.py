"""One-off check: gosplan's Equal Shares completions against the equalshares.net compute tool.

The compute tool (github.com/equalshares/equalshares-compute-tool, JavaScript) is not part of
gosplan and the test suite never runs it. This script runs its worker,
``js/methodOfEqualSharesWorker.js``, under Node.js from a local snapshot of that repository,
on seeded random approval elections, and compares the funded sets with gosplan's:

- tool ``completion: "add1"`` without the "exhaustive" option, ``comparison: "satisfaction"``
  against gosplan ``completion="add1-comparison"`` (stop ``last-within-budget``);
- the same without comparison against ``completion="add1", add1_stop="last-within-budget"``;
- tool ``add1options: ["exhaustive"]`` against ``completion="add1"`` (``first-exhaustive``).

The tool's add1 never stops where every project somebody voted for fits in the budget but
not every project does (no outcome ever overspends and, as an unvoted project that fits is
never funded, none is exhaustive either); such elections are skipped (gosplan stops once every
share covers its voter's whole ballot, where the outcome is constant).

Where every project fits in the budget together, the tool raises no share at all, whatever
its options; gosplan does so for ``last-within-budget`` but not for ``first-exhaustive``,
which raises shares until every voted project is funded, as pabutools does. The script
counts the ``first-exhaustive`` disagreements of that kind apart.

The tool runs in exact fractions, with no "integral" option (each share starts at
budget / voters, as in gosplan) and no tie-breaking, so it refuses an election where it meets
a tie; such an election is run again with the tool's ``breakTies`` replaced by gosplan's
rule (the smallest project id; written here). Ids are p0..p6, so the tool's order of
projects (JavaScript object keys) is also the id order that gosplan's greedy uses for ties.

The tool's comparison step counts, per voter, the funded projects on their ballot in each
outcome, but leaves a voter's count undefined (not 0) when an outcome funds none of them, and
JavaScript's ``undefined > k`` and ``k > undefined`` are both false: such a voter prefers
neither outcome. The code the equalshares.net documentation generates (Python) and Pabulib's
checker count that voter with 0; gosplan follows them. The script therefore also runs the
tool with its ``comparisonStep`` replaced by one that starts every count at 0 (written here,
not the tool's code) and reports both agreements.

Run: python benchmarks/check_compute_tool.py --tool /path/to/equalshares-compute-tool [--n 300]
(a checkout or ``git worktree`` of the repository; Node.js on PATH).
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd

from gosplan.democracy.budgeting import equal_shares
from gosplan.democracy.pabulib import Election

# Node harness: evaluates the worker in a context with the browser globals it uses, then
# answers the JSON case on its standard input. "zero" replaces comparisonStep by a version counting every
# voter's funded approved projects from 0.
HARNESS = r"""
const fs = require('fs'), vm = require('vm'), path = require('path');
const dir = process.argv[process.argv.length - 1];
const ctx = {console, performance: {now: () => 0}, postMessage: () => {}, Math, Object, Array, Set, Map, JSON};
ctx.self = ctx;
ctx.importScripts = (p) => vm.runInContext(fs.readFileSync(path.join(dir, 'js', p), 'utf8'), ctx);
vm.createContext(ctx);
vm.runInContext(fs.readFileSync(path.join(dir, 'js', 'methodOfEqualSharesWorker.js'), 'utf8'), ctx);
const original = ctx.comparisonStep, originalTies = ctx.breakTies;
// gosplan's tie-breaking: the smallest project id in string order
const byId = (N, C, cost, approvers, params, choices) => [[...choices].sort()[0]];
function zeroStep(N, C, cost, approvers, B, greedy, winners, params) {
  const count = (set) => {
    const s = {};
    for (const i of N) s[i] = 0;
    for (const c of set) for (const i of approvers[c]) s[i] += 1;
    return s;
  };
  const a = count(winners), b = count(greedy);
  let pm = 0, pg = 0;
  for (const i of N) { if (a[i] > b[i]) pm++; else if (b[i] > a[i]) pg++; }
  return {stickToMES: !(pg > pm), prefersMES: pm, prefersGreedy: pg};
}
const c = JSON.parse(fs.readFileSync(0, 'utf8'));
{
  ctx.comparisonStep = c.zero ? zeroStep : original;
  ctx.breakTies = c.byId ? byId : originalTies;
  let out;
  try {
    const r = ctx.equalShares(c.instance, c.params);
    out = {winners: r.winners};
  } catch (e) { out = {error: String(e)}; }
  process.stdout.write(JSON.stringify(out) + '\n');
}
"""


def random_election(rng: random.Random) -> Election:
    m = rng.randint(2, 7)
    n = rng.randint(2, 9)
    ids = [f"p{i}" for i in range(m)]
    costs = [rng.randint(1, 40) for _ in ids]
    budget = n * rng.randint(max(1, max(costs) // n + 1), max(2, sum(costs) // n + 1))
    budget = max(budget, max(costs))
    ballots = {f"v{v}": rng.sample(ids, rng.randint(1, m)) for v in range(n)}
    projects = pd.DataFrame({"cost": costs}, index=ids)
    return Election.from_ballots({"budget": budget, "vote_type": "approval"}, projects, ballots)


def tool_instance(e: Election) -> dict:
    approvers = {p: [] for p in e.project_ids}
    for v in e.voter_ids:
        for p in e.ballot(v).index:
            approvers[p].append(v)
    return {
        "meta": {"budget": e.meta["budget"]},
        "projects": {p: {"cost": str(int(c))} for p, c in zip(e.project_ids, e.costs)},
        "votes": {v: {} for v in e.voter_ids},
        "approvers": approvers,
    }


VARIANTS = {
    # name: (tool params, gosplan options)
    "add1-comparison": (
        {"completion": "add1", "add1options": [], "comparison": "satisfaction"},
        {"completion": "add1-comparison"},
    ),
    "add1 last-within-budget": (
        {"completion": "add1", "add1options": [], "comparison": "none"},
        {"completion": "add1", "add1_stop": "last-within-budget"},
    ),
    "add1 first-exhaustive": (
        {"completion": "add1", "add1options": ["exhaustive"], "comparison": "none"},
        {"completion": "add1", "add1_stop": "first-exhaustive"},
    ),
}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tool", required=True, type=Path, help="a checkout of equalshares-compute-tool")
    ap.add_argument("--n", type=int, default=300)
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--timeout", type=float, default=10.0, help="seconds the tool may take on one election")
    ap.add_argument("--show", type=int, default=3, help="print this many disagreements per variant")
    args = ap.parse_args()
    node = shutil.which("node") or shutil.which("nodejs")
    if node is None:
        print("Node.js not found on PATH", file=sys.stderr)
        return 2

    def tool(instance: dict, params: dict, zero: bool = False, by_id: bool = False) -> dict:
        full = {"tieBreaking": [], "accuracy": "fractions", "increment": 1, **params}
        case = json.dumps({"instance": instance, "params": full, "zero": zero, "byId": by_id})
        try:
            done = subprocess.run(
                [node, "-e", HARNESS, str(args.tool)],
                input=case,
                capture_output=True,
                text=True,
                timeout=args.timeout,
                check=False,
            )
        except subprocess.TimeoutExpired:
            return {"error": f"no answer in {args.timeout} s"}
        if done.returncode:
            raise RuntimeError(done.stderr)
        return json.loads(done.stdout)

    rng = random.Random(args.seed)
    stats = {
        k: {"endless": 0, "timeout": 0, "all_fit_differ": 0, "cases": 0, "ties": 0, "agree": 0, "agree_free": 0, "agree_zero": 0}
        for k in VARIANTS
    }
    shown = {k: 0 for k in VARIANTS}
    differ_cases = 0
    for _ in range(args.n):
        e = random_election(rng)
        inst = tool_instance(e)
        outs = {}
        supported = float(e.costs[e.support()["voters"].to_numpy() > 0].sum())
        endless = supported <= e.budget < float(e.costs.sum())
        everything_fits = float(e.costs.sum()) <= e.budget
        for name, (params, opts) in VARIANTS.items():
            if endless:
                # the tool's add1 would raise shares for ever (see _mes_add1 in gosplan)
                stats[name]["endless"] += 1
                continue
            r = tool(inst, params)
            st = stats[name]
            by_id = "error" in r and "Tie" in r["error"]
            if by_id:
                r = tool(inst, params, by_id=True)
            if "error" in r:
                if "no answer" not in r["error"]:
                    raise RuntimeError(r["error"])
                st["timeout"] += 1
                print(f"NO ANSWER {name}: {inst}")
                continue
            st["cases"] += 1
            st["ties"] += by_id
            mine = set(equal_shares(e, **opts).funded)
            outs[name] = mine
            st["agree"] += mine == set(r["winners"])
            st["agree_free"] += (not by_id) and mine == set(r["winners"])
            rz = tool(inst, params, zero=True, by_id=by_id) if params["comparison"] != "none" else r
            st["agree_zero"] += mine == set(rz["winners"])
            st["all_fit_differ"] += everything_fits and mine != set(rz["winners"])
            if mine != set(rz["winners"]) and shown[name] < args.show:
                shown[name] += 1
                print(f"DIFFER {name}: gosplan {sorted(mine)} tool {sorted(rz['winners'])}: {inst}")
        if "add1-comparison" in outs and "add1 first-exhaustive" in outs and outs["add1-comparison"] != outs["add1 first-exhaustive"]:
            differ_cases += 1
    for name, st in stats.items():
        print(
            f"{name}: {st['cases']} elections ({st['endless']} more skipped: the tool would not stop; "
            f"{st['timeout']} more: no answer in time); gosplan = tool in {st['agree_free']} of the "
            f"{st['cases'] - st['ties']} without a tie; with ties broken by id, gosplan = tool in {st['agree']}, "
            f"= tool counting from 0 in {st['agree_zero']} of {st['cases']}; "
            f"{st['all_fit_differ']} of the differences where every project fits in the budget"
        )
    print(f"elections where add1-comparison and plain add1 (first-exhaustive) fund different sets: {differ_cases}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
