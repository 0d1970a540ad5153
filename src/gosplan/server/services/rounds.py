"""Rounds: their lifecycle (open, close, compute the plan, publish) and what is cast in them.

Proposals and votes of delegates in plan rounds, ballots of members in budget and election
rounds, the outcomes computed from the round's ledger entries at closing, the Pabulib export
of a budget round, and the reads of rounds and votes. Publishing an election seats its
winners (:meth:`ElectionActs._seat`, in :mod:`.elections`).
"""

from __future__ import annotations

import functools
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gosplan.democracy import rounds
from gosplan.democracy.ledger import canonical_hash
from gosplan.democracy.rounds import RoundKind, RoundStatus
from gosplan.errors import GosplanError, SchemaError
from gosplan.server import _domain as domain
from gosplan.server.auth import Bearer, Principal, Role
from gosplan.server.db import Candidate, Council, Member, Project, Proposal, Round, Vote, utcnow
from gosplan.server.services._base import Conflict, Forbidden, Invalid, NotFound, ServiceBase, loads
from gosplan.server.services.casting import BallotBox, Cast


class RoundActs(ServiceBase):
    """Open, close, compute and publish rounds; proposals, votes and ballots."""

    # -- planner: rounds -------------------------------------------------------
    def open_round(self, p: Principal | Bearer | None, data: dict, key: str | None = None) -> dict:
        p = self.authorize(p, Role.PLANNER)
        kind = data["kind"]
        with self._write(p, key) as s:
            params: dict[str, Any] = {}
            council_id = data.get("council_id")
            if council_id is not None and s.get(Council, council_id) is None:
                raise Invalid(f"council_id: council {council_id} does not exist")
            if kind == RoundKind.PLAN:
                if data["rule"] not in domain.PLAN_RULES:
                    raise Invalid(f"rule {data['rule']!r} is not a plan rule; choose one of {', '.join(domain.PLAN_RULES)}")
                params.update(self._plan_params(data.get("economy") or domain.DEFAULT_ECONOMY, data.get("objective")))
            elif kind == RoundKind.BUDGET:
                self._check_budget(data)
                params.update(budget=data["budget"], ballot=data.get("ballot", "approval"))
                for k in ("min_length", "max_length", "max_sum_points"):
                    if data.get(k) is not None:
                        params[k] = data[k]
            elif kind == RoundKind.ELECTION:
                if council_id is None:
                    raise Invalid("council_id: an election elects the delegates of one council; name it")
                if data["rule"] not in domain.ELECTION_RULES:
                    raise Invalid(f"rule {data['rule']!r} is not an election rule; choose one of {', '.join(domain.ELECTION_RULES)}")
                self._no_open_election(s, council_id)
                params["seats"] = data.get("seats") or s.get(Council, council_id).seats
                params["quorum"] = float(data.get("quorum") or rounds.DEFAULT_QUORUM)
            r = Round(kind=kind, title=data["title"], rule=data["rule"], council_id=council_id, params=domain.canonical(params))
            s.add(r)
            s.flush()
            r = self._round(s, r.id)
            content: dict[str, Any] = {"round": r.id, "kind": kind, "title": r.title,
                                       "rule": r.rule, "council": council_id, "params": params}
            if kind == RoundKind.BUDGET:
                projects = data["projects"]
                for pr in projects:
                    s.add(Project(round_id=r.id, key=pr["key"], name=pr.get("name") or pr["key"], cost=pr["cost"],
                                  category=pr.get("category") or "", district=pr.get("district") or ""))
                content["projects"] = projects
            if kind == RoundKind.ELECTION:
                cands = sorted(set(data.get("candidates") or []))
                for mid in cands:
                    m = s.get(Member, mid)
                    if m is None or m.council_id != council_id:
                        raise Invalid(f"candidates: member {mid} is not a member of council {council_id}")
                    s.add(Candidate(round_id=r.id, member_id=mid))
                content["candidates"] = cands
            self._log(s, r, "round_opened", content, p)
            self._log(s, r, "rule_chosen", {"rule": r.rule, "params": params}, p)
            self._sign_head(s, r)
            return self.round_dict(s, r)

    @staticmethod
    def _plan_params(name: str, objective: str | None) -> dict:
        """A plan round's economy and objective, checked before anything is stored: a round that
        opens is one whose plan can be computed once the councils have proposed."""
        try:
            rounds.check_economy(name)
            objective = objective or domain.default_objective(name)
            rounds.check_objective(name, objective)
        except GosplanError as exc:
            raise Invalid(str(exc)) from None
        return {"economy": name, "objective": objective}

    @staticmethod
    def _no_open_election(s: Session, council_id: int) -> None:
        """One election per council at a time: a second one cannot pre-empt the one under way."""
        other = s.scalars(select(Round.id).where(Round.kind == RoundKind.ELECTION, Round.council_id == council_id,
                                                 Round.status != RoundStatus.PUBLISHED)).first()
        if other is not None:
            raise Conflict(f"council {council_id} has an election under way already (round {other}); "
                           "it must be published before another one opens")

    @staticmethod
    def _check_budget(data: dict) -> None:
        if data["rule"] not in domain.BUDGET_RULES:
            raise Invalid(f"rule {data['rule']!r} is not a budget rule; choose one of {', '.join(domain.BUDGET_RULES)}")
        ballot = data.get("ballot", "approval")
        if ballot not in domain.BALLOT_KINDS:
            raise Invalid(f"ballot {ballot!r} is not a ballot kind; choose one of {', '.join(domain.BALLOT_KINDS)}")
        projects = data.get("projects") or []
        if not projects:
            raise Invalid("projects: a budget round needs at least one project")
        seen = set()
        for pr in projects:
            if pr["key"] in seen:
                raise Invalid(f"projects: project id {pr['key']!r} appears twice")
            seen.add(pr["key"])
            if pr["cost"] > data["budget"]:
                raise Invalid(f"projects: project {pr['key']!r} costs {pr['cost']:g}, more than the budget {data['budget']:g}")

    def close_round(self, p: Principal | Bearer | None, round_id: int, key: str | None = None) -> dict:
        p = self.authorize(p, Role.PLANNER)
        with self._write(p, key) as s:
            r = self._round(s, round_id)
            if r.status != RoundStatus.OPEN:
                raise Conflict(f"round {round_id} is {r.status} already")
            if r.kind == RoundKind.PARTICIPATORY:
                raise Conflict(f"round {round_id} is a participatory round: it closes when the proposals balance or "
                               f"at its iteration limit; close an iteration with POST /participatory/{round_id}/update")
            r.status = RoundStatus.CLOSED
            r.closed_at = utcnow()
            closing: dict[str, Any] = {"votes": s.scalar(select(func.count(Vote.id)).where(Vote.round_id == r.id))}
            if r.kind == RoundKind.ELECTION:
                # the council's size is an input of the quorum: recorded, so the replay reads it
                closing["members"] = s.scalar(select(func.count(Member.id)).where(Member.council_id == r.council_id))
            self._log(s, r, "round_closed", closing, p)
            # outcomes are computed from the ledger's entries, never from the tables (an index of them)
            if r.kind == RoundKind.BUDGET:
                result = rounds.budget_from_ledger(self._entries(s, r))
                r.result = domain.canonical(result)
                self._log(s, r, "budget_outcome", {"result": result}, p)
            elif r.kind == RoundKind.ELECTION:
                result = rounds.election_from_ledger(self._entries(s, r), closing["members"])
                r.result = domain.canonical(result)
                self._log(s, r, "election_result", {"result": result}, p)
            self._sign_head(s, r)
            return self.round_dict(s, r)

    def compute_plan(self, p: Principal | Bearer | None, round_id: int, key: str | None = None) -> dict:
        p = self.authorize(p, Role.PLANNER)
        with self._write(p, key) as s:
            r = self._round(s, round_id)
            if r.kind != RoundKind.PLAN:
                raise Invalid(f"round {round_id} is a {r.kind} round; only a plan round computes a plan")
            if r.status != RoundStatus.CLOSED:
                raise Conflict(f"round {round_id} is {r.status}; close it before computing its plan")
            if r.result is not None and rounds.plan_failed(loads(r.result)) is None:
                raise Conflict(f"round {round_id} has its plan computed already; publish it")
            # a failed compute stays on record (its plan_computed entry); computing again,
            # after the planner amended the round or reopened it, records the next attempt
            params = loads(r.params)
            entries = self._entries(s, r)
            proposals, votes = rounds.plan_inputs(entries)
            weights = {c.id: c.weight for c in s.scalars(select(Council))}
            try:
                agg = domain.aggregate(r.rule, proposals, weights, votes)
            except GosplanError as exc:
                raise Conflict(f"round {round_id}: {exc}; reopen the round for proposals and votes "
                               f"(POST /rounds/{round_id}/reopen), close it and compute again") from None
            self._log(s, r, "targets_aggregated", {"rule": r.rule, **agg}, p)
            plan = domain.solve_plan(params["economy"], agg["basket"], agg["limits"], agg["priorities"],
                                     params.get("objective"))
            r.result = domain.canonical({"aggregation": agg, "plan": plan})
            self._log(s, r, "plan_computed", {"economy": params["economy"], "targets": agg["basket"],
                                              "manifest": plan["manifest"], "plan": plan}, p)
            self._sign_head(s, r)
            return self.round_dict(s, r)

    def amend_round(self, p: Principal | Bearer | None, round_id: int, data: dict, key: str | None = None) -> dict:
        """Change a plan round's economy or objective before its plan is published (after a
        failed compute, say): checked as at the opening, recorded as ``round_amended``."""
        p = self.authorize(p, Role.PLANNER)
        with self._write(p, key) as s:
            r = self._plan_round_to_fix(s, round_id)
            params = loads(r.params)
            changed = {k: data[k] for k in ("economy", "objective") if data.get(k)}
            if not changed:
                raise Invalid("give an economy or an objective to amend the round with")
            name = changed.get("economy", params["economy"])
            new = self._plan_params(name, changed.get("objective") or (None if "economy" in changed
                                                                       else params["objective"]))
            if name != params["economy"]:
                known = set(domain.product_ids(name))
                for pid, pr in rounds.plan_inputs(self._entries(s, r))[0].items():
                    unknown = sorted(set(pr["basket"]) - known)
                    if unknown:
                        raise Invalid(f"proposal {pid} of council {pr['council']} asks for {unknown[0]!r}, which "
                                      f"{name} does not make; the round stays on {params['economy']}")
            r.params = domain.canonical({**params, **new})
            r.result = None
            self._log(s, r, "round_amended", {"params": new}, p)
            self._sign_head(s, r)
            return self.round_dict(s, r)

    def reopen_round(self, p: Principal | Bearer | None, round_id: int, key: str | None = None) -> dict:
        """Open a closed plan round again (its plan failed, or not yet computed) for more proposals and votes."""
        p = self.authorize(p, Role.PLANNER)
        with self._write(p, key) as s:
            r = self._plan_round_to_fix(s, round_id)
            if r.status != RoundStatus.CLOSED:
                raise Conflict(f"round {round_id} is {r.status}; only a closed round can be reopened")
            r.status = RoundStatus.OPEN
            r.closed_at = None
            r.result = None
            self._log(s, r, "round_reopened", {}, p)
            self._sign_head(s, r)
            return self.round_dict(s, r)

    def _plan_round_to_fix(self, s: Session, round_id: int) -> Round:
        r = self._round(s, round_id)
        if r.kind != RoundKind.PLAN:
            raise Invalid(f"round {round_id} is a {r.kind} round; only a plan round is amended or reopened")
        if r.status == RoundStatus.PUBLISHED:
            raise Conflict(f"round {round_id} is published; its record is final")
        if r.result is not None and rounds.plan_failed(loads(r.result)) is None:
            raise Conflict(f"round {round_id} has a computed plan; publish it (a plan that was computed is not undone)")
        return r

    def publish(self, p: Principal | Bearer | None, round_id: int, key: str | None = None) -> dict:
        p = self.authorize(p, Role.PLANNER)
        with self._write(p, key) as s:
            r = self._round(s, round_id)
            if r.status == RoundStatus.PUBLISHED:
                raise Conflict(f"round {round_id} is published already")
            if r.result is None:
                raise Conflict(f"round {round_id} has no result yet; close it (and compute its plan) first")
            r.status = RoundStatus.PUBLISHED
            self._log(s, r, "result_published", {"result_sha256": canonical_hash(loads(r.result))}, p)
            if r.kind == RoundKind.ELECTION:
                self._seat(s, r)
            self._sign_head(s, r)
            return self.round_dict(s, r)

    # -- delegates: plan rounds ------------------------------------------------
    def _delegate_for(self, p: Principal | Bearer | None, council_id: int) -> Principal:
        p = self.authorize(p, Role.DELEGATE)
        if p.council_id != council_id:
            raise Forbidden(f"this delegate acts for council {p.council_id}, not for council {council_id}")
        return p

    def propose(self, p: Principal | Bearer | None, round_id: int, data: dict, key: str | None = None) -> dict:
        p = self._delegate_for(p, data["council_id"])
        with self._write(p, key) as s:
            r = self._round(s, round_id)
            self._open(r, RoundKind.PLAN)
            name = loads(r.params)["economy"]
            try:
                for part in ("basket", "priorities"):
                    rounds.check_quantities(part, data.get(part) or {}, domain.product_ids(name))
                rounds.check_quantities("limits", data.get("limits") or {}, domain.factor_ids(name), "factor")
            except SchemaError as exc:
                raise Invalid(f"{exc} (economy {name!r})") from None
            if s.scalars(select(Proposal.id).where(Proposal.round_id == r.id, Proposal.council_id == p.council_id)).first():
                raise Conflict(f"council {p.council_id} has a proposal in round {r.id} already; one per council")
            content = {k: data.get(k) or {} for k in ("basket", "priorities", "limits")}
            if data.get("comment"):
                content["comment"] = str(data["comment"])
            pr = Proposal(round_id=r.id, council_id=p.council_id, content=domain.canonical(content))
            s.add(pr)
            s.flush()
            self._log(s, r, "proposal", {"proposal": pr.id, "council": p.council_id, **content}, p)
            return {"id": pr.id, "round_id": r.id, "council_id": p.council_id, **content}

    @functools.cached_property
    def ballot_box(self) -> BallotBox:
        """The queue of votes and ballots, stored in batches (:mod:`.casting`). Two made at once
        by racing first casts would each still be correct: batches are acts of the group commit."""
        return BallotBox(self)

    def vote(self, p: Principal | Bearer | None, round_id: int, data: dict, key: str | None = None) -> dict:
        return self.ballot_box.cast(self._vote_cast(p, round_id, data, key))

    async def vote_async(self, p: Principal | Bearer | None, round_id: int, data: dict, key: str | None = None) -> dict:
        """:meth:`vote` for a request on the event loop (it holds no worker thread while its batch is stored)."""
        return await self.ballot_box.cast_async(self._vote_cast(p, round_id, data, key))

    def _vote_cast(self, p: Principal | Bearer | None, round_id: int, data: dict, key: str | None) -> Cast:
        council_id = data["council_id"]
        return Cast(self._presented(p), round_id, data, key, authorize=lambda who: self._delegate_for(who, council_id),
                    content=self._vote_content)

    def _vote_content(self, s: Session, r: Round, cache: dict, p: Principal, data: dict) -> dict:
        """A delegate's vote checked against its plan round (the batch's ``cache`` keeps the round's proposals)."""
        self._open(r, RoundKind.PLAN)
        if r.rule not in domain.VOTING_RULES:
            raise Invalid(f"round {r.id} aggregates proposals by {r.rule!r}, which takes no votes; submit a proposal")
        field = "ranking" if r.rule in domain.RANKED_RULES else "approve"
        choices = data.get(field)
        if not choices:
            raise Invalid(f"{field}: the rule {r.rule!r} needs a non-empty list of proposal ids in {field!r}")
        if len(set(choices)) != len(choices):
            raise Invalid(f"{field}: a proposal appears twice")
        if "proposals" not in cache:
            cache["proposals"] = set(s.scalars(select(Proposal.id).where(Proposal.round_id == r.id)))
        bad = [c for c in choices if c not in cache["proposals"]]
        if bad:
            raise Invalid(f"{field}: proposal {bad[0]} is not a proposal of round {r.id}")
        return {field: list(choices)}

    # -- members: budget and election ballots ----------------------------------
    def ballot(self, p: Principal | Bearer | None, round_id: int, data: dict, key: str | None = None) -> dict:
        return self.ballot_box.cast(self._ballot_cast(p, round_id, data, key))

    async def ballot_async(self, p: Principal | Bearer | None, round_id: int, data: dict, key: str | None = None) -> dict:
        """:meth:`ballot` for a request on the event loop."""
        return await self.ballot_box.cast_async(self._ballot_cast(p, round_id, data, key))

    def _ballot_cast(self, p: Principal | Bearer | None, round_id: int, data: dict, key: str | None) -> Cast:
        return Cast(self._presented(p), round_id, data, key, authorize=lambda who: self.authorize(who, Role.MEMBER),
                    content=self._ballot_content)

    def _ballot_content(self, s: Session, r: Round, cache: dict, p: Principal, data: dict) -> dict:
        """A member's ballot checked against its budget or election round (the batch's ``cache``
        keeps the round's parameters and projects)."""
        if r.kind not in (RoundKind.BUDGET, RoundKind.ELECTION):
            raise Invalid(f"round {r.id} is a {r.kind} round; members vote in budget and election rounds")
        self._open(r, r.kind)
        if r.council_id is not None and r.council_id != p.council_id:
            raise Forbidden(f"round {r.id} is for council {r.council_id}; this member belongs to council {p.council_id}")
        if r.kind == RoundKind.ELECTION:
            return self._check_election_ballot(s, r, data)
        if "projects" not in cache:
            cache["params"] = loads(r.params)
            cache["projects"] = set(s.scalars(select(Project.key).where(Project.round_id == r.id)))
        try:
            return rounds.check_budget_ballot(cache["params"], cache["projects"], data)
        except SchemaError as exc:
            raise Invalid(f"{exc} (round {r.id})") from None

    @staticmethod
    def _check_election_ballot(s: Session, r: Round, data: dict) -> dict:
        cands = set(s.scalars(select(Candidate.member_id).where(Candidate.round_id == r.id)))
        field = "ranking" if r.rule == "stv" else "approve"
        try:
            chosen = [int(c) for c in data.get(field) or []]
        except (TypeError, ValueError):
            raise Invalid(f"{field}: candidates are named by their member ids (whole numbers)") from None
        if not chosen:
            raise Invalid(f"{field}: the rule {r.rule!r} needs a non-empty list of candidates (member ids) in {field!r}")
        if len(set(chosen)) != len(chosen):
            raise Invalid(f"{field}: a candidate appears twice")
        for c in chosen:
            if c not in cands:
                raise Invalid(f"{field}: member {c} is not a candidate in round {r.id}")
        return {field: list(chosen)}

    def budget_pabulib(self, round_id: int) -> str:
        """A budget round and the ballots cast in it as a Pabulib file."""
        with self.store.read() as s:
            r = s.get(Round, round_id)
            if r is None or r.kind != RoundKind.BUDGET:
                raise NotFound(f"round {round_id} is not a budget round")
            b = rounds.budget_inputs(self._entries(s, r))  # the ballots as the ledger records them
            return domain.budget_to_pabulib(r.title, b["params"], b["projects"], b["ballots"])

    # -- reads -----------------------------------------------------------------
    @staticmethod
    def round_dict(s: Session, r: Round) -> dict:
        n = s.scalar(select(func.count(Vote.id)).where(Vote.round_id == r.id))
        result = loads(r.result) if r.status == RoundStatus.PUBLISHED or r.kind == RoundKind.PLAN else None
        return {"id": r.id, "kind": r.kind, "title": r.title, "status": r.status, "rule": r.rule,
                "council_id": r.council_id, "params": loads(r.params), "votes": n,
                "ledger_entries": r.seq + 1, "head_hash": r.head_hash,
                "result": result if r.status == RoundStatus.PUBLISHED else None,
                # why the last compute gave no plan: shown until the planner amends, reopens or computes again
                "error": rounds.plan_failed(result) if r.kind == RoundKind.PLAN else None}

    def rounds(self) -> list[dict]:
        with self.store.read() as s:
            return [self.round_dict(s, r) for r in s.scalars(select(Round).where(Round.kind != RoundKind.REGISTRY).order_by(Round.id))]

    def round(self, round_id: int) -> dict:
        with self.store.read() as s:
            r = s.get(Round, round_id)
            if r is None or r.kind == RoundKind.REGISTRY:
                raise NotFound(f"round {round_id} does not exist")
            d = self.round_dict(s, r)
            d["proposals"] = [{"id": pr.id, "council_id": pr.council_id, **loads(pr.content)}
                              for pr in s.scalars(select(Proposal).where(Proposal.round_id == r.id).order_by(Proposal.id))]
            d["projects"] = [{"key": pr.key, "name": pr.name, "cost": pr.cost, "category": pr.category, "district": pr.district}
                             for pr in s.scalars(select(Project).where(Project.round_id == r.id).order_by(Project.id))]
            d["candidates"] = [{"member_id": m.id, "name": m.name} for m in s.scalars(
                select(Member).join(Candidate, Candidate.member_id == Member.id).where(Candidate.round_id == r.id).order_by(Member.id))]
            d["voters"] = list(s.scalars(select(Vote.voter).where(Vote.round_id == r.id).order_by(Vote.id)))
            if r.kind == RoundKind.PLAN:
                d["products"] = domain.product_ids(loads(r.params)["economy"])
                d["product_names"] = domain.product_names(loads(r.params)["economy"])
            return d

    def votes(self, round_id: int) -> list[dict]:
        with self.store.read() as s:
            return [{"id": v.id, "voter": v.voter, **loads(v.content)}
                    for v in s.scalars(select(Vote).where(Vote.round_id == round_id).order_by(Vote.id))]
