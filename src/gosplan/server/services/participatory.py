"""Participatory rounds (Hahnel 2021, ch. 9): indicative prices, councils' answers, the board's updates.

The planner opens a round on a pequod experiment's councils (``dep1ex01``, shipped),
shared among some of the service's councils; the round records the goods, endowments, the
first prices and who answers for which worker and consumer councils. Each iteration every
council's delegate answers the current prices with its councils' proposal (outputs and
inputs of its worker councils, baskets of its consumer councils); when the last one has
answered, or when the planner closes the iteration, the board counts supply and demand and
moves the prices (:func:`gosplan.democracy.rounds.iteration_outcome`, the library's rule),
recording ``prices_updated``. The round closes when the proposals balance (every relative
imbalance at most the threshold) or at the iteration limit; the planner then publishes it.

Every proposal and price update is in the round's ledger and each update is computed from
the ledger's entries (those of the iteration, checked against the round's head), so that
``gosplan ledger verify --replay`` recomputes every price vector.
"""

from __future__ import annotations

import hashlib
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from gosplan.democracy import rounds
from gosplan.democracy.rounds import RoundKind, RoundStatus
from gosplan.errors import GosplanError
from gosplan.server import _domain as domain
from gosplan.server.auth import Bearer, Principal, Role
from gosplan.server.db import Council, LedgerRow, Round, utcnow
from gosplan.server.services._base import Conflict, Forbidden, Invalid, LedgerBroken, NotFound, ServiceBase, loads

#: How a stored update row starts: canonical JSON sorts the entry's members, so ``kind``
#: comes right before ``payload`` and this text cannot occur inside a payload (its quotes would be escaped).
_UPDATE_MARK = f'%"kind":"{rounds.OutcomeKind.PRICES.value}","payload"%'


class ParticipatoryActs(ServiceBase):
    """Open a participatory round, answer its prices, update them; read its iterations."""

    # -- planner ---------------------------------------------------------------
    def open_participatory(self, p: Principal | Bearer | None, data: dict, key: str | None = None) -> dict:
        p = self.authorize(p, Role.PLANNER)
        with self._write(p, key) as s:
            councils = list(data["councils"])
            for c in councils:
                if s.get(Council, c) is None:
                    raise Invalid(f"councils: council {c} does not exist")
            try:
                params = rounds.participatory_params(data.get("source") or "dep1ex01", councils,
                                                     data.get("rule") or "pequod", data.get("initial_price", 700.0),
                                                     data.get("threshold", 0.03), data.get("max_iterations", 200))
            except GosplanError as exc:
                raise Invalid(str(exc)) from None
            r = Round(kind=RoundKind.PARTICIPATORY, title=data["title"], rule=data.get("rule") or "pequod", council_id=None,
                      params=domain.canonical(params))
            s.add(r)
            s.flush()
            r = self._round(s, r.id)
            self._log(s, r, "round_opened", {"round": r.id, "kind": r.kind, "title": r.title, "rule": r.rule,
                                             "council": None, "params": params}, p)
            self._log(s, r, "rule_chosen", {"rule": r.rule, "params": {k: params[k] for k in ("threshold", "max_iterations")}}, p)
            self._sign_head(s, r)
            return self.round_dict(s, r)

    def update_prices(self, p: Principal | Bearer | None, round_id: int, key: str | None = None) -> dict:
        """Close the current iteration: councils that have not answered count with their last proposal."""
        p = self.authorize(p, Role.PLANNER)
        with self._write(p, key) as s:
            r = self._participatory(s, round_id)
            since, previous = self._last_update(s, r)
            if not self._answered(s, r, since):
                # prices are moved by answers: a second click must not move them again on the same proposals
                k = 1 if previous is None else previous["iteration"] + 1
                raise Conflict(f"no council has answered iteration {k} of round {r.id} yet; the prices move once "
                               "at least one council has answered them")
            self._update(s, r, p)
            return self.round_dict(s, r)

    # -- delegates ---------------------------------------------------------------
    def answer_participatory(self, p: Principal | Bearer | None, round_id: int, data: dict, key: str | None = None) -> dict:
        """A council's proposal at the current prices; the iteration's last answer moves the prices."""
        p = self.authorize(p, Role.DELEGATE)
        council = int(data["council_id"])
        if p.council_id != council:
            raise Forbidden(f"this delegate acts for council {p.council_id}, not for council {council}")
        with self._write(p, key) as s:
            r = self._participatory(s, round_id)
            params = loads(r.params)
            share = params["councils"].get(str(council))
            if share is None:
                raise Forbidden(f"council {council} takes no part in round {r.id}; its councils are "
                                f"{', '.join(params['councils'])}")
            since, previous = self._last_update(s, r)
            k = 1 if previous is None else previous["iteration"] + 1
            if int(data["iteration"]) != k:
                raise Conflict(f"round {r.id} is at iteration {k}: answer its prices (GET /participatory/{r.id}); "
                               f"the prices of iteration {data['iteration']} are not the current ones")
            answered = self._answered(s, r, since)
            if council in answered:
                raise Conflict(f"council {council} has answered iteration {k} already; one proposal each")
            content = self._checked(params, council, share, data)
            self._log(s, r, "iteration_proposal", {"iteration": k, "council": council, **content}, p)
            if {str(c) for c in answered} | {str(council)} >= set(params["councils"]):
                self._update(s, r, p)
            return {"round_id": r.id, "council_id": council, "iteration": k, "status": r.status,
                    "iteration_now": self._state(s, r)["iteration"]}

    @staticmethod
    def _checked(params: dict, council: int, share: dict, data: dict) -> dict:
        """The proposal as recorded, checked against the council's share of the experiment: every
        worker and consumer council of it answers, and each asks only for what its technique or
        its preferences name. Worker councils' products are recorded with their outputs."""
        if rounds.pequod_sha256(params["source"]) != params["source_sha256"]:
            raise Conflict(f"the councils of {params['source']} shipped with this server are not those the round "
                           "was opened on (their file's SHA-256 differs); answers cannot be checked against them")
        e = rounds.pequod_councils(params["source"])
        goods = e.commodities
        workers, consumers = data.get("workers") or {}, data.get("consumers") or {}
        for part, given, mine in (("workers", workers, share["workers"]), ("consumers", consumers, share["consumers"])):
            missing = [w for w in mine if w not in given]
            extra = [w for w in given if w not in set(mine)]
            if extra:
                raise Invalid(f"{part}: {extra[0]!r} is not one of council {council}'s {part} councils "
                              f"({mine[0]} ... {mine[-1]})")
            if missing:
                raise Invalid(f"{part}: {missing[0]!r} of council {council} gave no proposal; every {part[:-1]} "
                              f"council of the council answers ({len(missing)} missing)")
        out_workers: dict[str, Any] = {}
        for wid, w in workers.items():
            i = e.worker_ids.get_loc(wid)
            made = str(goods[e.output_good[i]])
            if w.get("good") not in (None, made):
                raise Invalid(f"workers: {wid!r} makes {made!r}, not {w['good']!r}")
            allowed = {str(goods[g]) for g in e.input_good[e.input_owner == i]}
            unknown = sorted(set(w["inputs"]) - allowed)
            if unknown:
                raise Invalid(f"workers: {unknown[0]!r} is not an input of {wid!r}'s technique; its inputs are "
                              f"{', '.join(sorted(allowed))}")
            out_workers[wid] = {"good": made, "output": float(w["output"]),
                                "inputs": {g: float(q) for g, q in w["inputs"].items()}}
        wanted = params["consumer_goods"]
        baskets = {}
        for cid, basket in consumers.items():
            unknown = sorted(set(basket) - set(wanted))
            if unknown:
                raise Invalid(f"consumers: {cid!r} asks for {unknown[0]!r}, which no consumer council's preferences "
                              "name (private and public goods only)")
            # recorded as a row over the round's consumer goods (a good not asked for is 0): the
            # ledger then holds numbers, not 20 names per council
            baskets[cid] = [float(basket.get(g, 0.0)) for g in wanted]
        return {"workers": out_workers, "consumers": baskets}

    def modelled_answer(self, round_id: int, council: int) -> dict:
        """The proposal a council's worker and consumer councils make at the current prices by their
        recorded techniques and preferences (:meth:`ParticipatoryEconomy.proposals`), ready to send."""
        import pandas as pd

        state = self.participatory(round_id)
        share = state["params"]["councils"].get(str(council))
        if share is None:
            raise Forbidden(f"council {council} takes no part in round {round_id}")
        e = rounds.pequod_councils(state["params"]["source"])
        prices = pd.Series(state["prices"])
        workers, consumers = e.proposals(prices)
        inputs = e.worker_inputs(prices)
        mine = set(share["workers"])
        asks: dict[str, dict] = {}
        for w, g, q in zip(inputs["worker_council"], inputs["good"], inputs["quantity"].to_numpy().tolist()):
            if w in mine:
                asks.setdefault(w, {})[g] = q
        goods = [str(g) for g in consumers.columns]
        baskets = consumers.loc[share["consumers"]]
        return {"council_id": council, "iteration": state["iteration"],
                "workers": {w: {"good": str(g), "output": q, "inputs": asks[w]} for w, g, q in zip(
                    share["workers"], workers.loc[share["workers"], "good"], workers.loc[share["workers"], "output"].tolist())},
                "consumers": dict(zip(share["consumers"], (dict(zip(goods, row)) for row in baskets.to_numpy().tolist())))}

    # -- the board's update ------------------------------------------------------
    def _update(self, s: Session, r: Round, p: Principal) -> None:
        params = loads(r.params)
        since, previous = self._last_update(s, r)
        k = 1 if previous is None else previous["iteration"] + 1
        entries = self._entries_after(s, r, since)
        proposals = rounds.latest_proposals(entries, k, params["councils"])
        if len(proposals) < len(params["councils"]):  # someone did not answer: their last answer counts
            proposals = rounds.latest_proposals(self._entries_after(s, r, -1), k, params["councils"])
        try:
            result = rounds.iteration_outcome(params, r.rule, previous, proposals)
        except GosplanError as exc:
            raise Conflict(str(exc)) from None
        self._log(s, r, rounds.OutcomeKind.PRICES.value, {"result": result}, p)
        if result["last"]:
            r.status = RoundStatus.CLOSED
            r.closed_at = utcnow()
            self._log(s, r, "round_closed", {"iterations": k, "converged": result["converged"]}, p)
            r.result = domain.canonical({"converged": result["converged"], "iterations": k,
                                         "threshold": params["threshold"], "max_imbalance": result["max_imbalance"],
                                         "prices": result["prices"], "supply": result["supply"],
                                         "demand": result["demand"]})
        self._sign_head(s, r)

    def _last_update(self, s: Session, r: Round) -> tuple[int, dict | None]:
        """The sequence number and outcome of the round's last price update (``-1, None`` before the first)."""
        # read back from the head: the iteration's few proposals, then the update (no scan of the whole chain)
        rows = s.execute(select(LedgerRow.seq, LedgerRow.entry).where(LedgerRow.round_id == r.id)
                         .order_by(LedgerRow.seq.desc()).execution_options(yield_per=4))
        for seq, text in rows:
            if _UPDATE_MARK.strip("%") in text[:400]:
                return seq, loads(text)["payload"]["result"]
        return -1, None

    def _entries_after(self, s: Session, r: Round, seq: int) -> list:
        """The round's entries after ``seq`` (all of them from ``-1``), checked: each one's hash is
        its content's, each links to the one before (the first to the stored hash of ``seq``), and
        the last is the round's recorded head. An update is computed from these only."""
        from gosplan.democracy.ledger import GENESIS, Entry

        rows = s.execute(select(LedgerRow.seq, LedgerRow.entry, LedgerRow.hash).where(
            LedgerRow.round_id == r.id, LedgerRow.seq >= seq).order_by(LedgerRow.seq)).all()
        prev = GENESIS if seq < 0 else (rows[0][2] if rows and rows[0][0] == seq else None)
        entries = []
        for n, text, _ in rows:
            if n == seq:
                continue
            e = Entry.from_dict(loads(text), f"entry {n}")
            # The stored text is the canonical form of the entry, its hash member after "actor":
            # without that member it is the hashed content, so the hash is checked on the stored
            # bytes instead of serialising the payload (half a megabyte a proposal) once more.
            content = text.replace(f',"hash":"{e.hash}"', "", 1).encode("utf-8")
            if e.seq != n or e.prev_hash != prev or hashlib.sha256(content).hexdigest() != e.hash:
                raise LedgerBroken(f"the ledger of round {r.id} does not verify at entry {n}; no price update is "
                                   "computed from a broken ledger, nothing stored; check it with `gosplan ledger verify`")
            entries.append(e)
            prev = e.hash
        if prev != r.head_hash or (entries and entries[-1].seq != r.seq):
            raise LedgerBroken(f"the ledger of round {r.id} does not end at its recorded head; nothing stored")
        return entries

    @staticmethod
    def _answered(s: Session, r: Round, since: int) -> list[int]:
        """The councils that have answered since the entry ``since`` (the iteration's), in order."""
        return [int(loads(text)["payload"]["council"]) for text in s.scalars(select(LedgerRow.entry).where(
            LedgerRow.round_id == r.id, LedgerRow.seq > since, LedgerRow.entry.like('%"kind":"iteration_proposal","payload"%'))
            .order_by(LedgerRow.seq))]

    def _participatory(self, s: Session, round_id: int) -> Round:
        r = self._round(s, round_id)
        self._open(r, RoundKind.PARTICIPATORY)
        return r

    # -- reads ---------------------------------------------------------------------
    def _state(self, s: Session, r: Round) -> dict:
        """Iteration, current prices and who has answered it; every update so far (their outcomes)."""
        params = loads(r.params)
        updates = [loads(t)["payload"]["result"] for t in s.scalars(select(LedgerRow.entry).where(
            LedgerRow.round_id == r.id, LedgerRow.entry.like(_UPDATE_MARK)).order_by(LedgerRow.seq))]
        last = updates[-1] if updates else None
        since = self._last_update(s, r)[0]
        answered = self._answered(s, r, since) if r.status == RoundStatus.OPEN else []
        return {"iteration": (last["iteration"] + 1 if last else 1) if r.status == RoundStatus.OPEN else len(updates),
                "prices": last["prices"] if last else params["initial_prices"], "answered": answered,
                "updates": updates, "params": params}

    def participatory(self, round_id: int) -> dict:
        with self.store.read() as s:
            r = s.get(Round, round_id)
            if r is None or r.kind != RoundKind.PARTICIPATORY:
                raise NotFound(f"round {round_id} is not a participatory round")
            d = self.round_dict(s, r)
            state = self._state(s, r)
            names = {c.id: c.name for c in s.scalars(select(Council).where(
                Council.id.in_([int(c) for c in state["params"]["councils"]])))}
            updates = state.pop("updates")
            d.update(state)
            d["council_names"] = {str(c): n for c, n in names.items()}
            d["iterations"] = [{"iteration": u["iteration"], "max_imbalance": u["max_imbalance"],
                                "excess_demand": {g: u["demand"][g] - u["supply"][g] for g in u["supply"]},
                                "supply": u["supply"], "demand": u["demand"], "imbalance": u["imbalance"],
                                "prices": u["prices"], "answered": u["answered"]}
                               for u in updates]
            d["result"] = loads(r.result) if r.status == RoundStatus.PUBLISHED else None
            d["outcome"] = loads(r.result)  # the closing count is public as soon as the round closes
            return d

    def participatory_council(self, round_id: int, council: int) -> dict:
        """What a council answers for: its worker councils' techniques and its consumer councils' preferences."""
        state = self.participatory(round_id)
        share = state["params"]["councils"].get(str(council))
        if share is None:
            raise NotFound(f"council {council} takes no part in round {round_id}")
        e = rounds.pequod_councils(state["params"]["source"])
        goods = e.commodities
        workers = {}
        for wid in share["workers"]:
            i = e.worker_ids.get_loc(wid)
            mask = e.input_owner == i
            workers[wid] = {"good": str(goods[e.output_good[i]]), "scale": float(e.scale[i]),
                            "effort_exponent": float(e.effort_exponent[i]), "disutility_scale": float(e.disutility_scale[i]),
                            "disutility_exponent": float(e.disutility_exponent[i]),
                            "input_exponents": {str(goods[g]): float(b) for g, b in zip(e.input_good[mask], e.input_exponent[mask])}}
        consumers = {}
        for cid in share["consumers"]:
            j = e.consumer_ids.get_loc(cid)
            consumers[cid] = {"income": float(e.income[j]),
                              "utility_exponents": {str(goods[g]): float(a) for g, a in zip(e.utility_good, e.utility_exponent[j])}}
        return {"round_id": round_id, "council_id": council, "workers": workers, "consumers": consumers}
