"""Participatory planning by iterated indicative prices (Hahnel 2021, ch. 9).

This module owns the second mode of democratic planning: instead of voting once on a
target, councils revise their own proposals round after round in answer to indicative
prices that a planning ("facilitation") board moves against each good's excess demand,
until every good's relative imbalance falls under a threshold. The model and the rule are
those of the program that produced the experiments of Robin Hahnel, *Democratic Economic
Planning* (Routledge, 2021), ch. 9: ``msszczep/pequod-cljs``, ``src/clj/pequod_cljs/csvgen.clj``
at commit ``0d24482`` (the commit that also holds the ``dep1ex01`` councils and trace shipped
in ``shared/data/dep_hahnel2021``).

The councils
    A consumer council with income ``m`` and Cobb-Douglas utility exponents ``alpha_j`` over
    private and public goods spends ``m * alpha_j / sum(alpha)`` on good ``j``. (The program
    charges a council ``p_j / N`` for a public good and divides the summed demand by the
    number of councils ``N``: the two cancel exactly, so a public good's demand is the same
    formula as a private good's.)  A worker council with technique
    ``Q = a * e**c * prod_j x_j**b_j`` (``e`` its effort) maximises
    ``lambda * Q - sum_j p_j x_j - s * e**k`` at its product's price ``lambda``; the first-order
    conditions give ``x_j = lambda b_j Q / p_j`` and, with ``B = sum_j b_j``::

        (c - k + k B) log Q = -k log a - k sum_j b_j log b_j - c log c + c log k + c log s
                              + k sum_j b_j log p_j - (c + k B) log lambda

    Natural resources and labour are endowments (1,000 of each kind in the experiments).

The board's price rule (:class:`PequodRule`)
    With ``v_k = |2 (S - D)| / (S + D)`` the relative imbalance of a good in round ``k``, the
    step is ``w_k = max(0.001, min(v_{k-1}, 0.25) * (1.05 - 0.5 ** v_k))`` with
    ``v_{-1} = 0.25``; the price falls by ``w_k`` of itself where supply exceeds demand and rises
    where it falls short. This is the rule demplan documents, and the trace agrees with it:
    it reproduces ``dep1ex01`` round for round (19 rounds in year one, 9 in year two, every
    one of the 50 prices of every round within a relative 1e-9; about 2e-15 is seen), see
    ``tests/test_participatory.py``. The rule as printed in the book (p. 181: the multiplier
    is this round's capped imbalance, no floor) is :class:`BookTextRule`; its prices leave
    the trace in round one. The program stops a year after the first round whose worst
    imbalance is at most the threshold (3 %); that round's price update is still announced.
    A second year starts from the first year's last prices *and* rule state (a warm start);
    restarting the rule state at 0.25 does not reproduce year two.

Two findings from the trace. (1) pequod's closed form for councils with eight inputs
(``solution-8``) adds ``B log c + B log k + B log s`` to the effort where the other seven
forms subtract them, so the effort it prints for those 191 councils is wrong; effort feeds
nothing else, so outputs and prices are unaffected, and this module computes the effort of
the first-order conditions. (2) Between the years the program perturbs every exponent with
an unseeded generator and records only each worker council's exponent sum; the test
recovers the draws from the printed outputs (:func:`perturb_exponents` draws new ones).
"""

from __future__ import annotations

import dataclasses
import functools
import gzip
import json
import os
from typing import Protocol

import numpy as np
import pandas as pd

from gosplan import datasets
from gosplan.errors import ConvergenceError, SchemaError, SourceError

KINDS = ("private", "intermediate", "nature", "labour", "public")
"""The five classes of goods of the Hahnel model, in the order the pequod trace lists them."""

PRODUCED = {"private": 0, "intermediate": 1, "public": 2}
"""Kind of good -> the ``industry`` code a pequod worker council producing it carries."""


def _frozen(array, dtype) -> np.ndarray:
    out = np.array(array, dtype=dtype, copy=True)
    out.flags.writeable = False
    return out


@dataclasses.dataclass(frozen=True, eq=False)
class ParticipatoryEconomy:
    """The councils of a participatory planning round, as plain columnar arrays.

    Attributes
    ----------
    commodities : pandas.Index
        Stable ids of the goods, e.g. ``"private-3"``.
    kind : numpy.ndarray of str
        The class of each good, one of :data:`KINDS`.
    endowment : numpy.ndarray
        Quantity of each good available without production (nature, labour).
    consumer_ids : pandas.Index
    income : numpy.ndarray, shape (n_consumers,)
    utility_exponent : numpy.ndarray, shape (n_consumers, n_columns)
        Cobb-Douglas exponents; column ``j`` is a utility over good ``utility_good[j]``.
    utility_good : numpy.ndarray of int, shape (n_columns,)
    worker_ids : pandas.Index
    output_good : numpy.ndarray of int, shape (n_workers,)
    scale, effort_exponent, disutility_scale, disutility_exponent : numpy.ndarray
        ``a``, ``c``, ``s``, ``k`` of each worker council's objective (module docstring).
    input_owner, input_good : numpy.ndarray of int, shape (n_entries,)
        One entry per (worker council, input): who uses which good...
    input_exponent : numpy.ndarray, shape (n_entries,)
        ...with which Cobb-Douglas exponent ``b``.

    The arrays are copied and made read-only; change an economy with
    :func:`dataclasses.replace`, which validates again.
    """

    commodities: pd.Index
    kind: np.ndarray
    endowment: np.ndarray
    consumer_ids: pd.Index
    income: np.ndarray
    utility_exponent: np.ndarray
    utility_good: np.ndarray
    worker_ids: pd.Index
    output_good: np.ndarray
    scale: np.ndarray
    effort_exponent: np.ndarray
    disutility_scale: np.ndarray
    disutility_exponent: np.ndarray
    input_owner: np.ndarray
    input_good: np.ndarray
    input_exponent: np.ndarray

    def __post_init__(self):
        set_ = functools.partial(object.__setattr__, self)
        set_("commodities", pd.Index(self.commodities, name="commodity"))
        set_("consumer_ids", pd.Index(self.consumer_ids, name="consumer_council"))
        set_("worker_ids", pd.Index(self.worker_ids, name="worker_council"))
        for name in ("kind",):
            set_(name, _frozen(self.kind, object))
        for name in ("endowment", "income", "utility_exponent", "scale", "effort_exponent",
                     "disutility_scale", "disutility_exponent", "input_exponent"):
            set_(name, _frozen(getattr(self, name), np.float64))
        for name in ("utility_good", "output_good", "input_owner", "input_good"):
            set_(name, _frozen(getattr(self, name), np.int64))
        self._validate()

    def _validate(self) -> None:
        n, nc, nw = len(self.commodities), len(self.consumer_ids), len(self.worker_ids)
        for label, index in (("commodities", self.commodities), ("consumer_ids", self.consumer_ids),
                             ("worker_ids", self.worker_ids)):
            if index.has_duplicates:
                dup = index[index.duplicated()][0]
                raise SchemaError(f"{label}: id {dup!r} appears more than once; ids must be unique")
        unknown = sorted(set(self.kind) - set(KINDS))
        if self.kind.shape != (n,) or unknown:
            raise SchemaError(f"kind: one of {KINDS} per commodity expected; got {unknown or self.kind.shape}")
        shapes = {
            "endowment": (self.endowment, (n,)), "income": (self.income, (nc,)),
            "utility_exponent": (self.utility_exponent, (nc, len(self.utility_good))),
            "output_good": (self.output_good, (nw,)), "scale": (self.scale, (nw,)),
            "effort_exponent": (self.effort_exponent, (nw,)),
            "disutility_scale": (self.disutility_scale, (nw,)),
            "disutility_exponent": (self.disutility_exponent, (nw,)),
            "input_good": (self.input_good, self.input_owner.shape),
            "input_exponent": (self.input_exponent, self.input_owner.shape),
        }
        for name, (array, shape) in shapes.items():
            if array.shape != shape:
                raise SchemaError(f"{name}: shape {array.shape}, expected {shape}")
        for name in ("endowment", "income", "utility_exponent", "scale", "effort_exponent",
                     "disutility_scale", "disutility_exponent", "input_exponent"):
            array = getattr(self, name)
            positive = name not in ("endowment",)
            bad = ~np.isfinite(array) | ((array <= 0) if positive else (array < 0))
            if bad.any():
                at = np.argwhere(bad)[0]
                raise SchemaError(
                    f"{name}: entry {tuple(int(i) for i in at)} is {float(array[tuple(at)])!r}; "
                    f"it must be finite and {'above zero' if positive else 'at least zero'}"
                )
        for name, array, bound in (("utility_good", self.utility_good, n), ("output_good", self.output_good, n),
                                   ("input_good", self.input_good, n), ("input_owner", self.input_owner, nw)):
            bad = (array < 0) | (array >= bound)
            if bad.any():
                i = int(np.flatnonzero(bad)[0])
                raise SchemaError(f"{name}: row {i} refers to {int(array[i])}, outside 0..{bound - 1}")
        if nw and np.bincount(self.input_owner, minlength=nw).min() == 0:
            w = int(np.flatnonzero(np.bincount(self.input_owner, minlength=nw) == 0)[0])
            raise SchemaError(f"worker council {self.worker_ids[w]!r} has no input; give it at least one")
        # decreasing returns in (inputs, effort) keep the closed form a maximum
        denominator = self._kernel.denominator
        if (denominator >= 0).any():
            w = int(np.flatnonzero(denominator >= 0)[0])
            raise SchemaError(
                f"worker council {self.worker_ids[w]!r}: c - k + k*sum(b) = {denominator[w]:.4g} >= 0, "
                "so its objective has no finite maximum; lower its exponents"
            )

    @functools.cached_property
    def _kernel(self) -> "_Kernel":
        return _Kernel(self)

    @property
    def n_commodities(self) -> int:
        return len(self.commodities)

    def proposals(self, prices: pd.Series) -> tuple[pd.DataFrame, pd.DataFrame]:
        """What every council proposes at ``prices``.

        Returns ``(workers, consumers)``: ``workers`` has one row per worker council with
        columns ``good``, ``output`` and ``effort``; ``consumers`` is councils x goods, the
        basket each consumer council asks for (a public good at the listed price).
        """
        p = _price_vector(prices, self.commodities)
        output, effort, _ = self._kernel.workers(p)
        workers = pd.DataFrame(
            {"good": self.commodities[self.output_good], "output": output, "effort": effort},
            index=self.worker_ids,
        )
        basket = (self.income / self.utility_exponent.sum(axis=1))[:, None] * self.utility_exponent
        basket = basket / p[self.utility_good][None, :]
        consumers = pd.DataFrame(basket, index=self.consumer_ids, columns=self.commodities[self.utility_good])
        return workers, consumers


    def worker_inputs(self, prices: pd.Series) -> pd.DataFrame:
        """The inputs every worker council asks for at ``prices``: one row per (council, input),
        columns ``worker_council``, ``good`` and ``quantity`` (``x_j = lambda b_j Q / p_j``)."""
        _, _, inputs = self._kernel.workers(_price_vector(prices, self.commodities))
        return pd.DataFrame({"worker_council": self.worker_ids[self.input_owner],
                             "good": self.commodities[self.input_good], "quantity": inputs})


class _Kernel:
    """Everything that does not change with the price, computed once per economy."""

    def __init__(self, e: ParticipatoryEconomy):
        n, nw = e.n_commodities, len(e.worker_ids)
        b, owner = e.input_exponent, e.input_owner
        a, c, s, k = e.scale, e.effort_exponent, e.disutility_scale, e.disutility_exponent
        self.e = e
        self.n, self.nw = n, nw
        self.log_b = np.log(b)
        self.total_b = np.bincount(owner, weights=b, minlength=nw)
        self.denominator = c - k + k * self.total_b
        self.own_weight = c + k * self.total_b
        self.constant = (-k * np.log(a) - k * np.bincount(owner, weights=b * self.log_b, minlength=nw)
                         - c * np.log(c) + c * np.log(k) + c * np.log(s))
        # A consumer council's spending on a good does not depend on the price (Cobb-Douglas),
        # so the society's spending per good is summed once; demand is spending / price.
        share = e.utility_exponent / e.utility_exponent.sum(axis=1, keepdims=True)
        self.spending = np.bincount(np.tile(e.utility_good, len(e.consumer_ids)),
                                    weights=(e.income[:, None] * share).ravel(), minlength=n)

    def workers(self, p: np.ndarray):
        e = self.e
        log_p = np.log(p)
        log_own = log_p[e.output_good]
        weighted = np.bincount(e.input_owner, weights=e.input_exponent * log_p[e.input_good], minlength=self.nw)
        log_q = (self.constant + e.disutility_exponent * weighted - self.own_weight * log_own) / self.denominator
        log_x = log_own[e.input_owner] + self.log_b + log_q[e.input_owner] - log_p[e.input_good]
        log_bundle = np.bincount(e.input_owner, weights=e.input_exponent * log_x, minlength=self.nw)
        log_effort = (log_q - np.log(e.scale) - log_bundle) / e.effort_exponent
        return np.exp(log_q), np.exp(log_effort), np.exp(log_x)

    def balance(self, p: np.ndarray):
        output, effort, inputs = self.workers(p)
        supply = np.bincount(self.e.output_good, weights=output, minlength=self.n) + self.e.endowment
        demand = np.bincount(self.e.input_good, weights=inputs, minlength=self.n) + self.spending / p
        return supply, demand, output, effort


def relative_imbalance(supply: np.ndarray, demand: np.ndarray) -> np.ndarray:
    """``|2 (S - D)| / (S + D)``: the excess of supply over demand relative to their mean.

    Zero where both are zero. Source: ``report-threshold`` in pequod's ``csvgen.clj``; Hahnel
    (2021), p. 181.
    """
    total = supply + demand
    with np.errstate(invalid="ignore", divide="ignore"):
        v = np.where(total > 0, np.abs(2.0 * (supply - demand)) / np.where(total > 0, total, 1.0), 0.0)
    return v


def tally(commodities: pd.Index, endowment: np.ndarray, supplied: pd.Series, demanded: pd.Series
          ) -> tuple[np.ndarray, np.ndarray]:
    """Supply and demand of every good from the councils' proposals, as the board counts them.

    ``supplied`` and ``demanded`` are quantities indexed by good id (a good may repeat: one
    entry per council and good). Supply is the worker councils' outputs plus the endowment
    (nature and labour); demand is their inputs plus the consumer councils' baskets.
    Source: ``update-surpluses-prices`` in pequod-cljs ``csvgen.clj``.
    """
    out = []
    for name, part in (("supplied", supplied), ("demanded", demanded)):
        pos = commodities.get_indexer(part.index)
        if (pos < 0).any():
            bad = part.index[int(np.flatnonzero(pos < 0)[0])]
            raise SchemaError(f"{name}: unknown good {bad!r}; the goods are {', '.join(commodities[:5])}, ...")
        out.append(np.bincount(pos, weights=part.to_numpy(dtype=np.float64), minlength=len(commodities)))
    return out[0] + np.asarray(endowment, dtype=np.float64), out[1]


def price_update(price: np.ndarray, supply: np.ndarray, demand: np.ndarray, state: np.ndarray,
                 rule: "PriceRule", round_: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """One move of the board: the relative imbalance of every good and the next prices.

    Returns ``(next_price, imbalance, step, next_state)``; ``round_`` (1-based) names the
    round in the error raised when a supply or demand is not finite (the prices diverged).
    :func:`run_participatory` iterates it; the democracy service calls it once per iteration
    of a participatory round, on the proposals the councils sent.
    """
    v = relative_imbalance(supply, demand)
    if not np.isfinite(v).all() or not np.isfinite(supply).all():
        raise ConvergenceError(f"round {round_}: a supply or demand is not finite; the prices diverged")
    nxt, step, state = rule(price, supply - demand, v, state)
    return np.asarray(nxt, dtype=np.float64), v, np.asarray(step, dtype=np.float64), np.asarray(state, dtype=np.float64)


class PriceRule(Protocol):
    """How the board moves prices. Stateless object; whatever it remembers is in ``state``.

    ``__call__(price, surplus, imbalance, state) -> (next_price, step, next_state)``, all
    float arrays of one entry per good.
    """

    def initial_state(self, n: int) -> np.ndarray: ...

    def __call__(self, price, surplus, imbalance, state): ...


def _move(price, surplus, step):
    return np.where(surplus > 0, price * (1.0 - step), np.where(surplus < 0, price * (1.0 + step), price))


@dataclasses.dataclass(frozen=True)
class PequodRule:
    """The price rule of the program behind Hahnel (2021), ch. 9 (the one the trace follows).

    ``w_k = max(floor, min(base_k, |base_k * m_{k-1}|))`` with ``base_k = ceiling - decay**v_k``
    and ``m_k = min(v_k, cap)``, ``m_{-1} = cap``; since ``m <= cap < 1`` this is
    ``max(floor, min(v_{k-1}, cap) * (1.05 - 0.5**v_k))``. Source: ``get-deltas``,
    ``update-surpluses-prices`` and ``update-pdlist`` in pequod-cljs ``csvgen.clj``
    (commit ``0d24482``); stated so by demplan's documentation.
    """

    cap: float = 0.25
    ceiling: float = 1.05
    decay: float = 0.5
    floor: float = 0.001

    def initial_state(self, n: int) -> np.ndarray:
        return np.full(n, self.cap)

    def __call__(self, price, surplus, imbalance, state):
        base = self.ceiling - self.decay ** imbalance
        step = np.maximum(self.floor, np.minimum(base, np.abs(base * state)))
        return _move(price, surplus, step), step, np.minimum(imbalance, self.cap)


@dataclasses.dataclass(frozen=True)
class BookTextRule:
    """The rule as printed in Hahnel (2021), p. 181: ``w = min(v, cap) * (1.05 - 0.5**v)``.

    This round's imbalance both multiplies (capped) and sits in the exponent (uncapped); no
    lag, no floor. Kept to show that it does not reproduce the program's trace.
    """

    cap: float = 0.25

    def initial_state(self, n: int) -> np.ndarray:
        return np.zeros(n)

    def __call__(self, price, surplus, imbalance, state):
        step = np.minimum(imbalance, self.cap) * (1.05 - 0.5 ** imbalance)
        return _move(price, surplus, step), step, state


RULES: dict[str, type] = {"pequod": PequodRule, "book-text": BookTextRule}
"""The boards' price rules by name: the program's (the trace follows it) and the book's text."""


@dataclasses.dataclass(frozen=True)
class ParticipatoryResult:
    """The rounds of one participatory "year".

    Every DataFrame is indexed by round (1, 2, ...) with one column per good (or per worker
    council). ``proposal_prices`` are the prices a round's proposals answered;
    ``prices`` are the indicative prices the board announced after that round (the next
    round's proposal prices), which is what the pequod trace prints.
    """

    rounds: int
    converged: bool
    threshold: float
    proposal_prices: pd.DataFrame
    prices: pd.DataFrame
    supply: pd.DataFrame
    demand: pd.DataFrame
    imbalance: pd.DataFrame
    step: pd.DataFrame
    worker_output: pd.DataFrame | None
    worker_effort: pd.DataFrame | None
    rule_state: pd.Series

    @property
    def surplus(self) -> pd.DataFrame:
        return self.supply - self.demand

    @property
    def final_prices(self) -> pd.Series:
        """The prices the last round announced: where a following year starts."""
        return self.prices.iloc[-1].rename("price")

    def warm_start(self) -> dict:
        """Keyword arguments that continue from this result: ``run_participatory(e, **r.warm_start())``."""
        return {"initial_prices": self.final_prices, "initial_state": self.rule_state}


def _price_vector(prices, commodities: pd.Index) -> np.ndarray:
    if np.ndim(prices) == 0:
        p = np.full(len(commodities), float(prices))
    else:
        if not isinstance(prices, pd.Series):
            raise SchemaError("prices: pass a number or a pandas Series indexed by commodity id")
        missing = commodities.difference(prices.index)
        extra = prices.index.difference(commodities)
        if len(missing) or len(extra):
            raise SchemaError(
                f"prices: missing goods {list(missing[:5])}, unknown goods {list(extra[:5])}; "
                "give one price per commodity of the economy"
            )
        p = prices.reindex(commodities).to_numpy(dtype=np.float64)
    bad = ~(np.isfinite(p) & (p > 0))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise SchemaError(f"prices: good {commodities[i]!r} has price {float(p[i])!r}; every price must be finite and above zero")
    return p


def run_participatory(
    economy: ParticipatoryEconomy,
    *,
    initial_prices: float | pd.Series = 700.0,
    threshold: float = 0.03,
    max_rounds: int = 200,
    rule: PriceRule | None = None,
    initial_state: pd.Series | None = None,
    record_workers: bool = True,
    raise_on_max_rounds: bool = False,
) -> ParticipatoryResult:
    """Iterate proposals and indicative prices until every imbalance is at most ``threshold``.

    Each round: every worker council proposes output and inputs and every consumer council
    a basket at the current prices; the board measures supply ``S`` (output plus endowment)
    and demand ``D`` (inputs plus baskets) of each good and the relative imbalance
    ``v = |2 (S - D)| / (S + D)``, then moves the prices by ``rule``. The run stops after the
    first round whose largest ``v`` is at most ``threshold`` (the pequod loop: "while some
    imbalance > 3 %"), or after ``max_rounds``. Source: Hahnel (2021), ch. 9; pequod-cljs
    ``csvgen.clj`` ``iterate-plan`` and ``-main``.

    Parameters
    ----------
    economy : ParticipatoryEconomy
    initial_prices : float or pandas.Series
        One price for every good (a cold start, 700 in the book) or a Series by commodity.
    threshold : float
        Largest relative imbalance accepted, as a fraction (0.03 = 3 %).
    rule : PriceRule, default :class:`PequodRule`
    initial_state : pandas.Series, optional
        Rule state to start from (a warm start: ``ParticipatoryResult.rule_state``).
    record_workers : bool
        Keep every worker council's output and effort of every round.
    raise_on_max_rounds : bool
        Raise :class:`~gosplan.errors.ConvergenceError` rather than return ``converged=False``.
    """
    if not 0 < threshold < 2:
        raise SchemaError(f"threshold={threshold!r}: a relative imbalance between 0 and 2 is expected (0.03 = 3 %)")
    if max_rounds < 1:
        raise SchemaError(f"max_rounds={max_rounds!r}: at least one round is needed")
    rule = PequodRule() if rule is None else rule
    kernel = economy._kernel
    goods = economy.commodities
    price = _price_vector(initial_prices, goods)
    if initial_state is None:
        state = np.asarray(rule.initial_state(len(goods)), dtype=np.float64)
    else:
        state = _state_vector(initial_state, goods)
    rows: dict[str, list] = {k: [] for k in ("proposal", "next", "supply", "demand", "v", "step", "out", "eff")}
    converged = False
    for _ in range(max_rounds):
        supply, demand, output, effort = kernel.balance(price)
        nxt, v, step, state = price_update(price, supply, demand, state, rule, len(rows["v"]) + 1)
        for key, value in (("proposal", price), ("next", nxt), ("supply", supply), ("demand", demand),
                           ("v", v), ("step", step)):
            rows[key].append(value)
        if record_workers:
            rows["out"].append(output)
            rows["eff"].append(effort)
        price = nxt
        if v.max() <= threshold:
            converged = True
            break
    n = len(rows["v"])
    if not converged and raise_on_max_rounds:
        raise ConvergenceError(
            f"after {n} rounds the largest imbalance is {rows['v'][-1].max():.4%} > {threshold:.2%}; "
            "raise max_rounds or the threshold"
        )
    index = pd.RangeIndex(1, n + 1, name="round")

    def frame(key, columns=goods):
        return pd.DataFrame(np.vstack(rows[key]), index=index, columns=columns)

    workers = economy.worker_ids
    return ParticipatoryResult(
        rounds=n, converged=converged, threshold=threshold,
        proposal_prices=frame("proposal"), prices=frame("next"), supply=frame("supply"),
        demand=frame("demand"), imbalance=frame("v"), step=frame("step"),
        worker_output=frame("out", workers) if record_workers else None,
        worker_effort=frame("eff", workers) if record_workers else None,
        rule_state=pd.Series(state, index=goods, name="rule_state"),
    )


def _state_vector(state, goods: pd.Index) -> np.ndarray:
    if not isinstance(state, pd.Series) or not state.index.equals(goods):
        raise SchemaError("initial_state: pass the rule_state Series of an earlier result (indexed by commodity)")
    out = state.to_numpy(dtype=np.float64)
    if not np.isfinite(out).all():
        raise SchemaError("initial_state: every entry must be finite")
    return out


WORKER_STEPS = (0.0, 0.001, 0.002, 0.003, 0.004)
"""What pequod's ``augment-wc`` may add to each input, nature and labour exponent between years."""

CONSUMER_STEPS = (-0.002, -0.001, 0.0, 0.001, 0.002)
"""What pequod's ``augment-cc`` may add to each utility exponent between years."""


def perturb_exponents(economy: ParticipatoryEconomy, rng: np.random.Generator) -> ParticipatoryEconomy:
    """The change between two planning years of the book's experiments.

    Every worker input exponent gains one of :data:`WORKER_STEPS` and every consumer utility
    exponent one of :data:`CONSUMER_STEPS`, each drawn uniformly and independently. Source:
    ``augment-exponents`` / ``augmented-reset`` in pequod-cljs ``csvgen.clj``. The program
    draws with an unseeded generator, so its draws cannot be replayed; these come from ``rng``.
    """
    return dataclasses.replace(
        economy,
        input_exponent=economy.input_exponent + rng.choice(WORKER_STEPS, size=economy.input_exponent.shape),
        utility_exponent=economy.utility_exponent + rng.choice(CONSUMER_STEPS, size=economy.utility_exponent.shape),
    )


_CATEGORY = (("private", "private-goods", 10), ("intermediate", "intermediate-goods", 10),
             ("nature", "nature", 10), ("labour", "labor", 10), ("public", "public-goods", 10))


def pequod_commodities(per_kind: int = 10) -> pd.Index:
    """Good ids in the trace's order: ``private-1..n, intermediate-1..n, nature-, labour-, public-``."""
    return pd.Index([f"{kind}-{j}" for kind in KINDS for j in range(1, per_kind + 1)], name="commodity")


def load_pequod_councils(path: str | os.PathLike, endowment: float = 1000.0) -> ParticipatoryEconomy:
    """Read a pequod experiment's councils (JSON, optionally gzipped; or ``"dep1ex01"``, shipped) into an economy.

    The file is ``{"ccs": [...], "wcs": [...]}`` as converted from pequod-cljs
    ``dep1exNN.clj`` (see ``datasets/dep1ex01/PROVENANCE.md``). Worker council keys:
    ``industry`` (0 private, 1 intermediate, 2 public good), ``product`` (1-based), ``a``,
    ``c`` (effort exponent), ``s``, ``du`` (disutility exponent ``k``),
    ``production-inputs`` (three lists of 1-based indices: intermediate goods, nature,
    labour) and the matching ``input-exponents``, ``nature-exponents``, ``labor-exponents``.
    Consumer council keys: ``income``, ``utility-exponents`` (private goods),
    ``public-good-exponents``. ``endowment`` is the supply of each kind of nature and labour
    (1,000 in pequod's ``setup``). Councils get ids ``wc-1..`` and ``cc-1..`` in file order
    (pequod's ``add-ids``).
    """
    path = datasets.resolve(path, "councils")
    try:
        opener = gzip.open if str(path).endswith(".gz") else open
        with opener(path, "rt", encoding="utf-8") as fh:
            data = json.load(fh)
        ccs, wcs = data["ccs"], data["wcs"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise SourceError(f"{path}: not a pequod councils file ({{'ccs': [...], 'wcs': [...]}}): {exc}") from exc
    n_per = 10
    goods = pequod_commodities(n_per)
    offset = {kind: i * n_per for i, kind in enumerate(KINDS)}
    kind = np.repeat(np.array(KINDS, dtype=object), n_per)
    endow = np.where(np.isin(kind, ["nature", "labour"]), float(endowment), 0.0)
    industry_kind = {v: k for k, v in PRODUCED.items()}
    owner, good, expo = [], [], []
    fields = {k: [] for k in ("out", "a", "c", "s", "du")}
    for i, wc in enumerate(wcs):
        try:
            fields["out"].append(offset[industry_kind[wc["industry"]]] + wc["product"] - 1)
            for key in ("a", "c", "s", "du"):
                fields[key].append(wc[key])
            lists = wc["production-inputs"]
            for cat, key in zip(("intermediate", "nature", "labour"),
                                ("input-exponents", "nature-exponents", "labor-exponents")):
                idx = lists[("intermediate", "nature", "labour").index(cat)]
                if len(idx) != len(wc[key]):
                    raise SchemaError(f"{path}: worker council {i + 1}: {len(idx)} {cat} inputs but {len(wc[key])} {key}")
                owner.extend([i] * len(idx))
                good.extend(offset[cat] + j - 1 for j in idx)
                expo.extend(wc[key])
        except (KeyError, TypeError) as exc:
            raise SourceError(f"{path}: worker council {i + 1} lacks or mangles field {exc}") from exc
    try:
        utility = np.array([cc["utility-exponents"] + cc["public-good-exponents"] for cc in ccs], dtype=float)
        income = np.array([cc["income"] for cc in ccs], dtype=float)
    except (KeyError, TypeError, ValueError) as exc:
        raise SourceError(f"{path}: a consumer council lacks or mangles a field: {exc}") from exc
    n_private = len(ccs[0]["utility-exponents"]) if ccs else 0
    utility_good = np.r_[offset["private"] + np.arange(n_private),
                         offset["public"] + np.arange(utility.shape[1] - n_private)]
    return ParticipatoryEconomy(
        commodities=goods, kind=kind, endowment=endow,
        consumer_ids=[f"cc-{i}" for i in range(1, len(ccs) + 1)], income=income,
        utility_exponent=utility, utility_good=utility_good,
        worker_ids=[f"wc-{i}" for i in range(1, len(wcs) + 1)], output_good=fields["out"],
        scale=fields["a"], effort_exponent=fields["c"], disutility_scale=fields["s"],
        disutility_exponent=fields["du"], input_owner=owner, input_good=good, input_exponent=expo,
    )


def read_pequod_trace(path: str | os.PathLike) -> list[dict[str, pd.DataFrame]]:
    """Read a pequod-cljs run trace (CSV, optionally gzipped; or ``"dep1ex01_trace"``, shipped) into one dict per planning year.

    Each year's dict holds DataFrames indexed by round, with the commodity ids of
    :func:`pequod_commodities` as columns: ``prices`` (announced after the round),
    ``supply``, ``demand``, ``surplus``, ``step`` (``new-deltas``), ``rule_state``
    (``pdlist``), ``imbalance`` (``threshold-report`` / 100), and ``worker_output`` /
    ``worker_effort`` (rounds x ``wc-N``); plus ``exponent_sum``, a Series per worker council
    (its exponents and ``c`` summed, printed after the year).
    """
    try:
        raw = pd.read_csv(datasets.resolve(path, "trace"), dtype={":iteration": str, ":color": str})
    except (OSError, ValueError) as exc:
        raise SourceError(f"{path}: cannot read pequod trace: {exc}") from exc
    goods = pequod_commodities(10)
    kinds_price = ("private-good-prices", "intermediate-good-prices", "nature-prices", "labor-prices",
                   "public-good-prices")
    marks = list(np.flatnonzero(raw[":iteration"].to_numpy() == "exponent-sum"))
    years, start = [], 0
    n_wc = sum(1 for c in raw.columns if c.endswith("_output"))
    wc_ids = [f"wc-{i}" for i in range(1, n_wc + 1)]
    for end in marks:
        block = raw.iloc[start:end]
        index = pd.Index(block[":iteration"].astype(int).to_numpy(), name="round")

        def grab(names, scale=1.0):
            arr = block[[f":{n}-{j}" for n in names for j in range(1, 11)]].to_numpy(dtype=float) * scale
            return pd.DataFrame(arr, index=index, columns=goods)

        year = {"prices": grab(kinds_price)}
        for key, stem in (("supply", "supply"), ("demand", "demand"), ("surplus", "surplus"),
                          ("step", "new-deltas"), ("rule_state", "pdlist"), ("imbalance", "threshold-report")):
            names = [f"{stem}-{c}" for _, c, _ in _CATEGORY]
            year[key] = grab(names, 0.01 if key == "imbalance" else 1.0)
        year["worker_output"] = pd.DataFrame(block[[f"wc_{i}_output" for i in range(1, n_wc + 1)]].to_numpy(float),
                                             index=index, columns=wc_ids)
        year["worker_effort"] = pd.DataFrame(block[[f"wc_{i}_effort" for i in range(1, n_wc + 1)]].to_numpy(float),
                                             index=index, columns=wc_ids)
        year["exponent_sum"] = pd.Series(raw.iloc[end][[f"wc_{i}_output" for i in range(1, n_wc + 1)]]
                                         .to_numpy(float), index=wc_ids, name="exponent_sum")
        years.append(year)
        start = end + 1
    return years
