"""What the service does, one function per act, shared by the JSON API and the pages.

Each act checks who asks (role, council, mandate), checks the request against the
round (open, its kind, its products, projects or candidates), stores its records
and appends its ledger entry in one transaction (:meth:`Store.write`). A refusal
raises a :class:`Refusal` carrying the HTTP status and a message naming what was
wrong; nothing of a refused request is stored, because the transaction is rolled
back. Idempotency keys are stored in the same transaction, so a replayed request
finds its key and is refused, and a failed one leaves its key unused.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from gosplan.democracy import rounds
from gosplan.democracy.ledger import canonical_hash
from gosplan.democracy.rounds import RoundKind, RoundStatus
from gosplan.errors import GosplanError, SchemaError
from gosplan.server import _domain as domain
from gosplan.server.auth import (
    MIN_ADMIN_TOKEN,
    SESSION_HOURS,
    Bearer,
    FailedAuth,
    Principal,
    Role,
    hash_token,
    new_token,
    resolve,
)
from gosplan.server.db import (
    Candidate,
    Council,
    Head,
    LedgerRow,
    Mandate,
    Member,
    Project,
    Proposal,
    Round,
    Signature,
    Store,
    Token,
    UsedKey,
    Vote,
    utcnow,
)
from gosplan.server.heads import Signer, default_key_path


class Refusal(GosplanError):
    """A request the service refuses; ``status`` is its HTTP status code."""

    status = 400

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        if status is not None:
            self.status = status


class Unauthorized(Refusal):
    status = 401


class Forbidden(Refusal):
    status = 403


class NotFound(Refusal):
    status = 404


class Conflict(Refusal):
    status = 409


class Invalid(Refusal):
    status = 422


class TooMany(Refusal):
    status = 429


class LedgerBroken(Refusal):
    """The round's stored chain does not end at its recorded head: nothing more is appended."""

    status = 409


def loads(text: str | None) -> Any:
    return json.loads(text) if text else None


def _actor(p: Principal) -> str:
    """Who acted, as the ledger records it: role, token number and council (never the token)."""
    where = f"@council:{p.council_id}" if p.council_id is not None else ""
    return f"{p.role}#{p.token_id}{where}"


REGISTRY_TITLE = "registry of councils, members and tokens"


class Service:
    """The acts of the service over one :class:`Store`."""

    def __init__(self, store: Store, signer: Signer | None = None):
        self.store = store
        self.signer = signer if signer is not None else Signer(default_key_path(store.url))
        import os

        self.failed_auth = FailedAuth(int(os.environ.get("GOSPLAN_AUTH_FAILURES", "20")))
        self._principals: dict[str, Principal] = {}
        self.registry_id = self._ensure_registry()

    # -- plumbing ---------------------------------------------------------------
    def _ensure_registry(self) -> int:
        """The chain that logs councils, members and tokens (writes not tied to a round)."""
        with self.store.write() as s:
            r = s.scalars(select(Round).where(Round.kind == RoundKind.REGISTRY)).first()
            if r is None:
                r = Round(kind=RoundKind.REGISTRY, title=REGISTRY_TITLE, status=RoundStatus.OPEN, rule="-", params="{}")
                s.add(r)
                s.flush()
                self._log(s, r, "registry_opened", {})
            return r.id

    def _log(self, s: Session, rnd: Round, kind: str, payload: dict, actor: Principal | str = "system") -> None:
        """Append one entry to ``rnd``'s chain; the caller holds the round's lock."""
        actor = actor if isinstance(actor, str) else _actor(actor)
        self._check_head(s, rnd)
        text, digest = domain.ledger_next(rnd.head_hash or domain.GENESIS, rnd.seq + 1, kind, actor, payload)
        s.add(LedgerRow(round_id=rnd.id, seq=rnd.seq + 1, entry=text, hash=digest))
        rnd.seq += 1
        rnd.head_hash = digest

    def _check_head(self, s: Session, rnd: Round) -> None:
        """Refuse to extend a chain whose stored rows do not end at the round's recorded head.

        A row deleted at the end, or rows added or rewritten behind the service's back, would
        otherwise be buried under new entries. Checked once per round and transaction: the
        last stored row must carry the head's sequence number and hash, and no row may follow.
        """
        checked = s.info.setdefault("heads_checked", set())
        if rnd.id in checked or rnd.seq < 0:
            checked.add(rnd.id)
            return
        rows = s.execute(select(LedgerRow.seq, LedgerRow.hash).where(
            LedgerRow.round_id == rnd.id, LedgerRow.seq >= rnd.seq).order_by(LedgerRow.seq)).all()
        if len(rows) != 1 or rows[0][0] != rnd.seq or rows[0][1] != rnd.head_hash:
            found = f"{len(rows)} rows from seq {rnd.seq} on" if len(rows) != 1 else f"seq {rows[0][0]} hash {rows[0][1]}"
            raise LedgerBroken(
                f"the ledger of round {rnd.id} does not end at its recorded head (seq {rnd.seq}, hash "
                f"{rnd.head_hash[:16]}…; found {found}): it was cut short or rewritten outside the service. "
                "Nothing is stored and nothing more will be appended to it; check it with "
                f"`gosplan ledger verify --head` against a published head")
        checked.add(rnd.id)

    def _entries(self, s: Session, r: Round) -> list:
        """The round's chain as ledger entries, checked: the outcome is computed from these.

        The chain must verify and end at the round's recorded head; otherwise the outcome
        is refused (nothing stored).
        """
        from gosplan.democracy.ledger import Entry, verify

        texts = list(s.scalars(select(LedgerRow.entry).where(LedgerRow.round_id == r.id).order_by(LedgerRow.seq)))
        entries = [Entry.from_dict(loads(t), f"entry {i}") for i, t in enumerate(texts)]
        report = verify(entries, expected_head=r.head_hash, expected_count=r.seq + 1)
        if not report.ok:
            raise LedgerBroken(f"the ledger of round {r.id} does not verify ({report.message}); "
                               "no outcome is computed from a broken ledger, nothing stored")
        return entries

    def _sign_head(self, s: Session, r: Round) -> dict:
        """Publish the round's head as it stands, signed with the server's key (module :mod:`heads`)."""
        from gosplan.democracy.ledger import utc_now

        signed = self.signer.sign(r.id, r.seq + 1, r.head_hash, r.status, utc_now())
        s.add(Head(round_id=r.id, entries=r.seq + 1, hash=r.head_hash, signed=domain.canonical(signed)))
        return signed

    def _still_valid(self, s: Session, p: Principal) -> None:
        """Check the caller's token again inside the write transaction.

        A recall commits between the token check and the write at most: on SQLite writes are
        serialised, on PostgreSQL the token row is share-locked here and the recall updates
        it, so either the write lands before the recall or it is refused after it.
        """
        stmt = select(Token).where(Token.id == p.token_id).execution_options(populate_existing=True)
        if not self.store.is_sqlite:
            stmt = stmt.with_for_update(read=True)
        tok = s.scalars(stmt).first()
        mandate = s.get(Mandate, p.mandate_id, populate_existing=True) if p.mandate_id is not None else None
        expired = tok is not None and tok.expires_at is not None and tok.expires_at <= utcnow()
        if tok is None or not tok.active or expired or (p.role == Role.DELEGATE and (mandate is None or not mandate.active)):
            raise Unauthorized("this token was revoked (a recalled or replaced delegate's token stops working at once)")

    def _claim_key(self, s: Session, p: Principal, key: str | None) -> None:
        if key is None:
            return
        if len(key) > 200 or not key.strip():
            raise Invalid("Idempotency-Key must be 1 to 200 characters")
        exists = s.scalars(select(UsedKey.id).where(UsedKey.principal == p.key, UsedKey.key == key)).first()
        if exists is not None:
            raise Conflict(f"replayed request: Idempotency-Key {key!r} was already used by this token; nothing stored")
        s.add(UsedKey(principal=p.key, key=key))

    def _round(self, s: Session, round_id: int, lock: bool = True) -> Round:
        r = self.store.lock_round(s, round_id) if lock else s.get(Round, round_id)
        if r is None or r.kind == RoundKind.REGISTRY:
            raise NotFound(f"round {round_id} does not exist")
        return r

    def _registry(self, s: Session) -> Round:
        return self.store.lock_round(s, self.registry_id)

    def whois(self, p: Principal | Bearer | None) -> Principal | None:
        """The principal behind a presented token (None if unknown, revoked or its mandate ended)."""
        if isinstance(p, Bearer):
            wait = self.failed_auth.blocked(p.address)
            if wait:
                raise TooMany(f"too many failed tokens from {p.address or 'this address'}; try again in {wait:.0f} s")
            with self.store.read() as s:
                who = resolve(s, p.text)
            if who is None:
                self.failed_auth.failed(p.address)
            elif len(self._principals) < 100_000:
                self._principals[hash_token(p.text)] = who
            return who
        return p

    def authorize(self, p: Principal | Bearer | None, *roles: str) -> Principal:
        """The caller if it holds one of ``roles``; 401 without a valid token, 403 for another role.

        Every act that authorizes then writes, and the write checks the token again inside its
        transaction (:meth:`_still_valid`: active, not expired, mandate running), so the
        principal behind a token (its role, council, member and mandate never change) is
        remembered here instead of being read in a transaction of its own.
        """
        if isinstance(p, Bearer):
            cached = self._principals.get(hash_token(p.text))
            if cached is not None and not self.failed_auth.blocked(p.address):
                p = cached
        p = self.whois(p)
        if p is None:
            raise Unauthorized("this needs a bearer token (Authorization: Bearer TOKEN); yours is missing, unknown or revoked")
        if p.role not in roles:
            raise Forbidden(f"a {p.role} may not do this; it needs the role {' or '.join(str(r) for r in roles)}")
        return p

    @staticmethod
    def _open(r: Round, kind: str) -> None:
        if r.kind != kind:
            raise Invalid(f"round {r.id} is a {r.kind} round, not a {kind} round")
        if r.status != RoundStatus.OPEN:
            raise Conflict(f"round {r.id} is {r.status}: it takes no more proposals, votes or ballots")

    @contextlib.contextmanager
    def _write(self, p: Principal, key: str | None) -> Iterator[Session]:
        """A write transaction with the idempotency key claimed first.

        A unique constraint that still fails at commit (two requests racing past the checks
        on PostgreSQL) is a conflict: the transaction is rolled back and nothing is stored.
        """
        try:
            with self.store.write() as s:
                self._still_valid(s, p)
                self._claim_key(s, p, key)
                yield s
        except IntegrityError as exc:
            if "used_keys" in str(exc.orig):  # the same key raced in from another request
                raise Conflict(f"replayed request: Idempotency-Key {key!r} was already used by this token; "
                               "nothing stored") from None
            raise Conflict(f"conflicting write refused, nothing stored ({exc.orig})") from None

    # -- administrator ----------------------------------------------------------
    def bootstrap_admin(self, text: str, label: str = "administrator") -> None:
        """Make ``text`` the administrator token; any other administrator token is revoked.

        Refuses a token shorter than :data:`MIN_ADMIN_TOKEN` characters and one that was
        revoked (a rotated-out token cannot come back through the environment).
        """
        if len(text) < MIN_ADMIN_TOKEN:
            raise GosplanError(f"the administrator token has {len(text)} characters; give one of at least "
                               f"{MIN_ADMIN_TOKEN} random characters (e.g. python -c 'import secrets; "
                               "print(secrets.token_urlsafe(32))')")
        with self.store.write() as s:
            h = hash_token(text)
            existing = s.scalars(select(Token).where(Token.token_hash == h)).first()
            if existing is not None and (not existing.active or existing.role != Role.ADMIN):
                raise GosplanError("this administrator token was revoked (or belongs to another role); give a new one")
            reg = self._registry(s)
            if existing is None:
                t = Token(token_hash=h, role=Role.ADMIN, label=label)
                s.add(t)
                s.flush()
                self._log(s, reg, "token_issued", {"role": "admin", "token": t.id, "label": label})
                existing = t
            self._revoke_where(s, reg, (Token.role == Role.ADMIN) & (Token.id != existing.id), "replaced administrator")

    def rotate_admin(self, label: str = "administrator") -> str:
        """A new administrator token; every earlier one (and its sessions) stops working."""
        text, h = new_token()
        with self.store.write() as s:
            reg = self._registry(s)
            self._revoke_where(s, reg, Token.role == Role.ADMIN, "administrator token rotated")
            t = Token(token_hash=h, role=Role.ADMIN, label=label)
            s.add(t)
            s.flush()
            self._log(s, reg, "token_issued", {"role": "admin", "token": t.id, "label": label, "rotated": True})
        return text

    def _revoke_where(self, s: Session, reg: Round, condition, reason: str) -> list[int]:
        ids = list(s.scalars(select(Token.id).where(condition, Token.active)))
        if ids:
            ids += list(s.scalars(select(Token.id).where(Token.parent_id.in_(ids), Token.active)))
            for t in s.scalars(select(Token).where(Token.id.in_(ids))):
                t.active, t.revoked_at = False, utcnow()
            self._log(s, reg, "token_revoked", {"tokens": sorted(set(ids)), "reason": reason})
        return ids

    def open_session(self, text: str, address: str = "") -> tuple[str, Principal]:
        """Log in to the pages with a token: a new session token (expires in
        :data:`SESSION_HOURS` hours, ends at logout) for the cookie; the token itself is not stored there."""
        import datetime as dt

        who = self.whois(Bearer(text, address))
        if who is None:
            raise Unauthorized("this token is unknown, expired or revoked")
        session_text, h = new_token()
        with self.store.write() as s:
            reg = self._registry(s)
            t = Token(token_hash=h, role=who.role, label=who.label, council_id=who.council_id, member_id=who.member_id,
                      mandate_id=who.mandate_id, parent_id=who.token_id,
                      expires_at=utcnow() + dt.timedelta(hours=SESSION_HOURS))
            s.add(t)
            s.flush()
            self._log(s, reg, "session_opened", {"token": who.token_id, "session": t.id})
            return session_text, Principal(t.id, who.role, who.label, who.council_id, who.member_id, who.mandate_id)

    def revoke(self, p: Principal | Bearer | None, token_id: int | None = None, key: str | None = None) -> dict:
        """Revoke the caller's own token (``token_id`` None) or, for an administrator, any token by id.
        A revoked token's sessions end with it."""
        p = self.authorize(p, *Role)
        if token_id is not None and token_id != p.token_id and p.role != Role.ADMIN:
            raise Forbidden("only an administrator revokes another holder's token; revoke your own with POST /me/revoke")
        target = p.token_id if token_id is None else token_id
        with self._write(p, key) as s:
            if s.get(Token, target) is None:
                raise NotFound(f"token {target} does not exist")
            reg = self._registry(s)
            ids = self._revoke_where(s, reg, Token.id == target, f"revoked by {p.role} token {p.token_id}")
            if not ids:
                raise Conflict(f"token {target} is revoked already")
            return {"revoked": sorted(set(ids))}

    def has_admin(self) -> bool:
        with self.store.read() as s:
            return s.scalars(select(Token.id).where(Token.role == Role.ADMIN, Token.active)).first() is not None

    def create_council(self, p: Principal | Bearer | None, data: dict, key: str | None = None) -> dict:
        p = self.authorize(p, Role.ADMIN)
        with self._write(p, key) as s:
            reg = self._registry(s)
            if s.scalars(select(Council.id).where(Council.name == data["name"])).first() is not None:
                raise Conflict(f"a council named {data['name']!r} exists already")
            c = Council(**data)
            s.add(c)
            s.flush()
            self._log(s, reg, "council_registered", {"council": c.id, **data}, p)
            return self.council_dict(s, c)

    def create_member(self, p: Principal | Bearer | None, council_id: int, name: str, key: str | None = None) -> dict:
        p = self.authorize(p, Role.ADMIN)
        with self._write(p, key) as s:
            reg = self._registry(s)
            if s.get(Council, council_id) is None:
                raise NotFound(f"council {council_id} does not exist")
            if s.scalars(select(Member.id).where(Member.council_id == council_id, Member.name == name)).first():
                raise Conflict(f"council {council_id} has a member named {name!r} already")
            m = Member(council_id=council_id, name=name)
            s.add(m)
            s.flush()
            text, h = new_token()
            t = Token(token_hash=h, role=Role.MEMBER, label=name, council_id=council_id, member_id=m.id)
            s.add(t)
            s.flush()
            self._log(s, reg, "member_registered", {"council": council_id, "member": m.id, "name": name, "token": t.id}, p)
            return {"id": m.id, "council_id": council_id, "name": name, "token": text}

    def create_planner(self, p: Principal | Bearer | None, label: str, key: str | None = None) -> dict:
        p = self.authorize(p, Role.ADMIN)
        with self._write(p, key) as s:
            reg = self._registry(s)
            text, h = new_token()
            t = Token(token_hash=h, role=Role.PLANNER, label=label)
            s.add(t)
            s.flush()
            self._log(s, reg, "token_issued", {"role": "planner", "token": t.id, "label": label}, p)
            return {"token": text, "role": "planner", "label": label}

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
                name = data.get("economy") or domain.DEFAULT_ECONOMY
                domain.economy(name)  # refuses an unknown economy before anything is stored
                params["economy"] = name
                params["objective"] = data.get("objective") or domain.default_objective(name)
                if data["rule"] not in domain.PLAN_RULES:
                    raise Invalid(f"rule {data['rule']!r} is not a plan rule; choose one of {', '.join(domain.PLAN_RULES)}")
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
            if r.result is not None:
                raise Conflict(f"round {round_id} has its plan computed already; publish it")
            params = loads(r.params)
            entries = self._entries(s, r)
            proposals, votes = rounds.plan_inputs(entries)
            weights = {c.id: c.weight for c in s.scalars(select(Council))}
            agg = domain.aggregate(r.rule, proposals, weights, votes)
            self._log(s, r, "targets_aggregated", {"rule": r.rule, **agg}, p)
            plan = domain.solve_plan(params["economy"], agg["basket"], agg["limits"], agg["priorities"],
                                     params.get("objective"))
            r.result = domain.canonical({"aggregation": agg, "plan": plan})
            self._log(s, r, "plan_computed", {"economy": params["economy"], "targets": agg["basket"],
                                              "manifest": plan["manifest"], "plan": plan}, p)
            self._sign_head(s, r)
            return self.round_dict(s, r)

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

    # -- delegates: plan rounds ---------------------------------------------------
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
            pr = Proposal(round_id=r.id, council_id=p.council_id, content=domain.canonical(content))
            s.add(pr)
            s.flush()
            self._log(s, r, "proposal", {"proposal": pr.id, "council": p.council_id, **content}, p)
            return {"id": pr.id, "round_id": r.id, "council_id": p.council_id, **content}

    def vote(self, p: Principal | Bearer | None, round_id: int, data: dict, key: str | None = None) -> dict:
        p = self._delegate_for(p, data["council_id"])
        with self._write(p, key) as s:
            r = self._round(s, round_id)
            self._open(r, RoundKind.PLAN)
            if r.rule not in domain.VOTING_RULES:
                raise Invalid(f"round {r.id} aggregates proposals by {r.rule!r}, which takes no votes; submit a proposal")
            field = "ranking" if r.rule in domain.RANKED_RULES else "approve"
            choices = data.get(field)
            if not choices:
                raise Invalid(f"{field}: the rule {r.rule!r} needs a non-empty list of proposal ids in {field!r}")
            if len(set(choices)) != len(choices):
                raise Invalid(f"{field}: a proposal appears twice")
            ids = set(s.scalars(select(Proposal.id).where(Proposal.round_id == r.id)))
            bad = [c for c in choices if c not in ids]
            if bad:
                raise Invalid(f"{field}: proposal {bad[0]} is not a proposal of round {r.id}")
            return self._store_vote(s, r, p, f"council:{p.council_id}", {field: list(choices)})

    def _store_vote(self, s: Session, r: Round, p: Principal, voter: str, content: dict) -> dict:
        kind = {RoundKind.PLAN: "vote", RoundKind.BUDGET: "budget_ballot", RoundKind.ELECTION: "election_ballot"}[r.kind]
        if s.scalars(select(Vote.id).where(Vote.round_id == r.id, Vote.voter == voter)).first():
            raise Conflict(f"{voter.replace(':', ' ')} has voted in round {r.id} already; one vote each")
        v = Vote(round_id=r.id, voter=voter, content=domain.canonical(content))
        s.add(v)
        s.flush()
        self._log(s, r, kind, {"vote": v.id, "voter": voter, **content}, p)
        return {"id": v.id, "round_id": r.id, "voter": voter, **content}

    # -- members: budget ballots, elections, recall ------------------------------
    def ballot(self, p: Principal | Bearer | None, round_id: int, data: dict, key: str | None = None) -> dict:
        p = self.authorize(p, Role.MEMBER)
        with self._write(p, key) as s:
            r = self._round(s, round_id)
            if r.kind not in (RoundKind.BUDGET, RoundKind.ELECTION):
                raise Invalid(f"round {r.id} is a {r.kind} round; members vote in budget and election rounds")
            self._open(r, r.kind)
            if r.council_id is not None and r.council_id != p.council_id:
                raise Forbidden(f"round {r.id} is for council {r.council_id}; this member belongs to council {p.council_id}")
            params = loads(r.params)
            content = (
                self._check_budget_ballot(s, r, params, data)
                if r.kind == RoundKind.BUDGET
                else self._check_election_ballot(s, r, data)
            )
            return self._store_vote(s, r, p, f"member:{p.member_id}", content)

    @staticmethod
    def _check_budget_ballot(s: Session, r: Round, params: dict, data: dict) -> dict:
        keys = s.scalars(select(Project.key).where(Project.round_id == r.id))
        try:
            return rounds.check_budget_ballot(params, keys, data)
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
    def council_dict(s: Session, c: Council) -> dict:
        n = s.scalar(select(func.count(Member.id)).where(Member.council_id == c.id))
        return {"id": c.id, "name": c.name, "kind": c.kind, "weight": c.weight, "recall_threshold": c.recall_threshold,
                "seats": c.seats, "members": n}

    @staticmethod
    def round_dict(s: Session, r: Round) -> dict:
        n = s.scalar(select(func.count(Vote.id)).where(Vote.round_id == r.id))
        return {"id": r.id, "kind": r.kind, "title": r.title, "status": r.status, "rule": r.rule,
                "council_id": r.council_id, "params": loads(r.params), "votes": n,
                "ledger_entries": r.seq + 1, "head_hash": r.head_hash,
                "result": loads(r.result) if r.status == RoundStatus.PUBLISHED else None}

    def councils(self) -> list[dict]:
        with self.store.read() as s:
            return [self.council_dict(s, c) for c in s.scalars(select(Council).order_by(Council.id))]

    def members(self, council_id: int) -> list[dict]:
        with self.store.read() as s:
            return [{"id": m.id, "name": m.name, "council_id": m.council_id}
                    for m in s.scalars(select(Member).where(Member.council_id == council_id).order_by(Member.id))]

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

    def ledger_texts(self, round_id: int) -> list[str]:
        with self.store.read() as s:
            r = s.get(Round, round_id)
            if r is None:
                raise NotFound(f"round {round_id} does not exist")
            return list(s.scalars(select(LedgerRow.entry).where(LedgerRow.round_id == round_id).order_by(LedgerRow.seq)))

    def ledger_export(self, round_id: int) -> bytes:
        return domain.ledger_export(round_id, self.ledger_texts(round_id))

    def heads(self, round_id: int) -> list[dict]:
        """Every head published for the round, signed, oldest first."""
        with self.store.read() as s:
            self._public_round(s, round_id)
            return [loads(h.signed) for h in s.scalars(select(Head).where(Head.round_id == round_id).order_by(Head.id))]

    def head(self, round_id: int) -> dict:
        """The round's latest published head (signed)."""
        heads = self.heads(round_id)
        if not heads:
            raise NotFound(f"round {round_id} has no published head yet")
        return heads[-1]

    def _public_round(self, s: Session, round_id: int) -> Round:
        r = s.get(Round, round_id)
        if r is None:
            raise NotFound(f"round {round_id} does not exist")
        return r

    def verify(self, round_id: int, replay: bool = True) -> dict:
        """Check the stored chain: the hashes, the recorded head (count and hash), every head the
        server published for it, and (``replay``) every outcome recomputed from its entries."""
        with self.store.read() as s:
            r = self._public_round(s, round_id)
            texts = list(s.scalars(select(LedgerRow.entry).where(LedgerRow.round_id == round_id).order_by(LedgerRow.seq)))
            pinned = [(h.entries, h.hash) for h in s.scalars(select(Head).where(Head.round_id == round_id).order_by(Head.id))]
            count, head = r.seq + 1, r.head_hash
        return domain.ledger_verify(texts, replay=replay and r.kind != RoundKind.IMPORTED, expected_count=count,
                                    expected_head=head or None, pinned=pinned)

    def import_ledger(self, p: Principal | Bearer | None, data: bytes, key: str | None = None) -> dict:
        """Store an exported round's chain, after verifying it, as a read-only round."""
        p = self.authorize(p, Role.ADMIN, Role.PLANNER)
        header, texts, report = domain.ledger_import(data)
        if not report["ok"]:
            raise Invalid(f"the ledger does not verify: {report['message']}; nothing stored")
        if not texts:
            raise Invalid("the ledger has no entries; nothing to import")
        first = loads(texts[0])
        payload = first.get("payload") or {}
        with self._write(p, key) as s:
            r = Round(kind=RoundKind.IMPORTED, title=f"imported: {payload.get('title', 'round ' + str(header.get('round')))}",
                      status=RoundStatus.CLOSED, rule=str(payload.get("rule", "-")),
                      params=domain.canonical({"source_round": header.get("round")}),
                      seq=len(texts) - 1, head_hash=loads(texts[-1])["hash"])
            s.add(r)
            s.flush()
            for i, t in enumerate(texts):
                s.add(LedgerRow(round_id=r.id, seq=i, entry=t, hash=loads(t)["hash"]))
            self._sign_head(s, r)
            return {"id": r.id, "entries": len(texts), "head_hash": r.head_hash}

