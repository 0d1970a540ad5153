"""Elections and recall: candidates, mandates, delegate tokens, petitions and by-elections.

Members nominate themselves, elected delegates get their tokens, and members petition to
recall a mandate; at the threshold (decided by the petitions the ledger records) the
mandate ends, its tokens stop working and a by-election opens. Publishing an election
(:meth:`RoundActs.publish`) seats its winners here.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gosplan.democracy import rounds
from gosplan.democracy.rounds import RoundKind, RoundStatus
from gosplan.server import _domain as domain
from gosplan.server.auth import Bearer, Principal, Role, new_token
from gosplan.server.db import Candidate, Council, Mandate, Member, Round, Signature, Token, utcnow
from gosplan.server.services._base import Conflict, Forbidden, LedgerBroken, NotFound, ServiceBase, loads


class ElectionActs(ServiceBase):
    """Candidates, mandates, delegate tokens and recall."""

    # -- members: elections, recall --------------------------------------------
    def nominate(self, p: Principal | Bearer | None, round_id: int, key: str | None = None) -> dict:
        p = self.authorize(p, Role.MEMBER)
        with self._write(p, key) as s:
            r = self._round(s, round_id)
            self._open(r, RoundKind.ELECTION)
            if r.council_id != p.council_id:
                raise Forbidden(f"round {r.id} elects delegates of council {r.council_id}; this member belongs to council {p.council_id}")
            if s.scalars(select(Candidate.id).where(Candidate.round_id == r.id, Candidate.member_id == p.member_id)).first():
                raise Conflict(f"member {p.member_id} is a candidate in round {r.id} already")
            s.add(Candidate(round_id=r.id, member_id=p.member_id))
            self._log(s, r, "candidate_nominated", {"member": p.member_id}, p)
            return {"round_id": r.id, "member_id": p.member_id}

    def sign_recall(self, p: Principal | Bearer | None, mandate_id: int, key: str | None = None) -> dict:
        """Sign the petition against a mandate; at the threshold the mandate ends and a by-election opens."""
        p = self.authorize(p, Role.MEMBER)
        with self._write(p, key) as s:
            m = s.get(Mandate, mandate_id)
            if m is None:
                raise NotFound(f"mandate {mandate_id} does not exist")
            r = self._round(s, m.round_id)
            m = s.get(Mandate, mandate_id)
            if not m.active:
                raise Conflict(f"mandate {mandate_id} has ended already ({m.ended_reason})")
            if m.council_id != p.council_id:
                raise Forbidden(f"mandate {mandate_id} is a delegate of council {m.council_id}; only its members may petition")
            if s.scalars(select(Signature.id).where(Signature.mandate_id == m.id, Signature.member_id == p.member_id)).first():
                raise Conflict(f"member {p.member_id} has signed the petition against mandate {mandate_id} already")
            s.add(Signature(mandate_id=m.id, member_id=p.member_id))
            s.flush()
            council = s.get(Council, m.council_id)
            members = list(s.scalars(select(Member.id).where(Member.council_id == m.council_id)))
            signers = list(s.scalars(select(Signature.member_id).where(Signature.mandate_id == m.id)))
            counted = domain.recall(m.member_id, m.council_id, members, council.recall_threshold, signers)
            signed, needed = counted["signatures"], counted["needed"]
            self._log(s, r, "petition", {"mandate": m.id, "member": p.member_id,
                                                "signatures": signed, "needed": needed}, p)
            out = {"mandate_id": m.id, "signatures": signed, "needed": needed, "recalled": False, "new_round_id": None}
            if counted["reached"]:
                # the decision is the ledger's: the petitions recorded in the chain reach the threshold
                result = rounds.recall_from_ledger(self._entries(s, r), m.id, m.member_id, m.council_id, members,
                                                   council.recall_threshold)
                if not result["reached"]:
                    raise LedgerBroken(f"the petitions recorded in the ledger of round {r.id} do not reach the "
                                       f"threshold the tables show; nothing stored")
                m.active = False
                m.ended_at = utcnow()
                m.ended_reason = "recalled"
                for t in s.scalars(select(Token).where(Token.mandate_id == m.id, Token.active)):
                    t.active = False
                    t.revoked_at = utcnow()
                by_params = {"seats": 1, "replaces": m.id, "quorum": rounds.DEFAULT_QUORUM}
                pending = s.scalars(select(Round.id).where(Round.kind == RoundKind.ELECTION, Round.council_id == m.council_id,
                                                           Round.status != RoundStatus.PUBLISHED)).first()
                new = None
                if pending is None:
                    new = Round(kind=RoundKind.ELECTION, title=f"by-election after the recall of mandate {m.id}",
                                rule=r.rule, council_id=m.council_id, params=domain.canonical(by_params))
                    s.add(new)
                    s.flush()
                self._log(s, r, "recall", {"mandate": m.id, "member": m.member_id, "council": m.council_id,
                                           "members": sorted(members), "threshold": council.recall_threshold,
                                           "result": result, "signatures": signed, "needed": needed,
                                           "new_round": new.id if new is not None else pending,
                                           "explanation": counted["explanation"]})
                self._sign_head(s, r)
                if new is not None:
                    new = self._round(s, new.id)
                    self._log(s, new, "round_opened", {"opened_by_recall_of_mandate": m.id, "round": new.id,
                                                       "kind": RoundKind.ELECTION.value, "title": new.title, "rule": new.rule,
                                                       "council": m.council_id, "params": by_params, "candidates": []})
                    self._log(s, new, "rule_chosen", {"rule": new.rule, "params": by_params})
                    self._sign_head(s, new)
                else:
                    new = s.get(Round, pending)
                out.update(recalled=True, new_round_id=new.id)
            return out

    def delegate_token(self, p: Principal | Bearer | None, key: str | None = None) -> dict:
        """A delegate token for a member who holds a mandate; an earlier one is revoked."""
        p = self.authorize(p, Role.MEMBER)
        with self._write(p, key) as s:
            m = s.scalars(select(Mandate).where(Mandate.member_id == p.member_id, Mandate.active)).first()
            if m is None:
                raise Forbidden(f"member {p.member_id} holds no delegate mandate; delegates are elected")
            r = self._round(s, m.round_id)
            for t in s.scalars(select(Token).where(Token.mandate_id == m.id, Token.active)):
                t.active = False
                t.revoked_at = utcnow()
            text, h = new_token()
            t = Token(token_hash=h, role=Role.DELEGATE, label=p.label, council_id=m.council_id, member_id=p.member_id, mandate_id=m.id)
            s.add(t)
            s.flush()
            self._log(s, r, "delegate_token_issued", {"mandate": m.id, "token": t.id}, p)
            return {"token": text, "role": "delegate", "council_id": m.council_id, "mandate_id": m.id}

    def _seat(self, s: Session, r: Round) -> None:
        """Start the mandates of an election's winners; a full election ends the council's earlier ones."""
        params = loads(r.params)
        result = loads(r.result)
        if not result["elected"]:
            return  # no ballots, no mandate: the council's delegates stay in office
        if "replaces" not in params:
            for m in s.scalars(select(Mandate).where(Mandate.council_id == r.council_id, Mandate.active)):
                m.active, m.ended_at, m.ended_reason = False, utcnow(), f"succeeded by round {r.id}"
                for t in s.scalars(select(Token).where(Token.mandate_id == m.id, Token.active)):
                    t.active, t.revoked_at = False, utcnow()
        for member in result["elected"]:
            m = Mandate(council_id=r.council_id, member_id=member, round_id=r.id)
            s.add(m)
            s.flush()
            self._log(s, r, "mandate_started", {"mandate": m.id, "member": member, "council": r.council_id})

    # -- reads -----------------------------------------------------------------
    def mandates(self, council_id: int | None = None) -> list[dict]:
        with self.store.read() as s:
            q = select(Mandate).order_by(Mandate.id)
            if council_id is not None:
                q = q.where(Mandate.council_id == council_id)
            out = []
            for m in s.scalars(q):
                n = s.scalar(select(func.count(Signature.id)).where(Signature.mandate_id == m.id))
                out.append({"id": m.id, "council_id": m.council_id, "member_id": m.member_id, "round_id": m.round_id,
                            "active": m.active, "ended_reason": m.ended_reason, "signatures": n})
            return out
