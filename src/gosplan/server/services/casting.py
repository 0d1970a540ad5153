"""Votes and ballots cast in batches: many casts checked together and stored as one act.

Casting is the service's busiest write: a round may have thousands of councils or members
voting at once, and checking and storing each vote in its own savepoint costs a dozen
statements. Here every cast joins a queue; one of the casting threads at a time (the
*leader*) takes every cast waiting and, in one act of the group commit (:meth:`Store.write`),
checks them all with a few queries per batch (tokens and mandates, idempotency keys, the
round, its proposals, projects or candidates, earlier votes), then stores the accepted
ones with one multi-row insert per table and appends their ledger entries in order.

As soon as a batch is staged in the transaction, the lead passes to a thread still waiting,
which starts the next batch while this one's commit is made durable. Every cast is
answered only after its batch is committed, so acknowledged still means stored. A refused
cast stores nothing (its idempotency key stays unused) and gets the refusal it would get
alone: the casts of a batch are checked in the order they arrived, each seeing the ones
accepted before it. If the database refuses a batch (a constraint that raced past the
checks), each of its casts is run again alone.
"""

from __future__ import annotations

import dataclasses
import hmac
import threading
from collections.abc import Callable
from typing import Any

from sqlalchemy import insert, or_, select, tuple_
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from gosplan.democracy.rounds import RoundKind
from gosplan.server import _domain as domain
from gosplan.server.auth import Bearer, Principal, Role, hash_token
from gosplan.server.db import Mandate, Round, StorageFailure, Token, UsedKey, Vote, utcnow
from gosplan.server.services._base import Conflict, Refusal, Unauthorized

#: Most casts checked and stored in one batch.
MAX_CASTS = 1000

#: The ledger entry's kind for a vote or ballot in each kind of round.
ENTRY_KIND = {RoundKind.PLAN: "vote", RoundKind.BUDGET: "budget_ballot", RoundKind.ELECTION: "election_ballot"}

#: ``content(session, round, cache, principal, data)``: the cast checked against its (locked)
#: round, as stored; ``cache`` is a dict shared by the batch's casts in that round.
Content = Callable[[Session, Round, dict, Principal, dict], dict]


@dataclasses.dataclass(eq=False)
class Cast:
    """One vote or ballot waiting in the queue, and its answer once its batch is committed."""

    who: Principal | Bearer
    round_id: int
    data: dict
    key: str | None
    #: the caller's role and council checked (``authorize(principal) -> principal``), raising a refusal
    authorize: Callable[[Principal], Principal]
    content: Content
    event: threading.Event = dataclasses.field(default_factory=threading.Event)
    lead: bool = False
    #: how an awaiting request is woken (from the batch's thread), when the cast came from one
    wake: Callable[[], None] | None = None
    result: dict | None = None
    error: BaseException | None = None


def voter_of(p: Principal) -> str:
    """Who casts, as the ``votes`` table and the ledger name it: a delegate votes for its council."""
    return f"council:{p.council_id}" if p.role == Role.DELEGATE else f"member:{p.member_id}"


class BallotBox:
    """The queue of casts of one service and the batches that store them (module docstring)."""

    def __init__(self, service: Any):
        self.service = service
        self._lock = threading.Lock()
        self._queue: list[Cast] = []
        self._leading = False
        #: batches stored and the casts they carried
        self.batches = self.casts = 0

    def cast(self, c: Cast) -> dict:
        """Queue ``c``, wait until its batch is committed; the stored vote, or its refusal raised."""
        if self._queued(c):
            self._run()
        while True:
            c.event.wait()
            if not c.lead:
                break
            c.lead = False
            c.event.clear()
            self._run()
        return self._answer(c)

    async def cast_async(self, c: Cast) -> dict:
        """:meth:`cast` for a request served on the event loop: it waits without holding a worker
        thread, and the batches run in threads of their own."""
        import asyncio

        loop = asyncio.get_running_loop()
        done = loop.create_future()

        def settle() -> None:
            if not done.done():
                done.set_result(None)

        c.wake = lambda: loop.call_soon_threadsafe(settle)
        if self._queued(c):
            self._lead_in_thread()
        await done
        return self._answer(c)

    def _queued(self, c: Cast) -> bool:
        """Queue ``c``; whether its caller is to lead (no batch is being checked now)."""
        if isinstance(c.who, Principal):
            c.who = c.authorize(c.who)  # a known token's role and council are refused before queueing
        with self._lock:
            self._queue.append(c)
            lead, self._leading = not self._leading, True
        return lead

    def _lead_in_thread(self) -> None:
        threading.Thread(target=self._run, name="gosplan-ballot-box", daemon=True).start()

    @staticmethod
    def _answer(c: Cast) -> dict:
        if c.error is not None:
            raise c.error
        assert c.result is not None
        return c.result

    def _run(self) -> None:
        """Lead one batch: take the queue, store it, pass the lead on once it is staged."""
        with self._lock:
            batch, self._queue = self._queue[:MAX_CASTS], self._queue[MAX_CASTS:]
        passed = False

        def pass_lead() -> None:
            nonlocal passed
            passed = True
            with self._lock:
                if not self._queue:
                    self._leading = False
                    return
                nxt = self._queue[0]
                if nxt.wake is None:  # a thread waits for it: that thread leads the next batch
                    nxt.lead = True
                    nxt.event.set()
                    return
            self._lead_in_thread()

        try:
            self._store(batch, pass_lead)
        finally:
            if not passed:
                pass_lead()
            for c in batch:
                if c.result is None and c.error is None:
                    c.error = StorageFailure("the vote was not stored (the service failed while storing it); send it again")
                if c.wake is None:
                    c.event.set()
                    continue
                try:
                    c.wake()
                except RuntimeError:  # its event loop has closed (the server is stopping): no one waits
                    pass

    def _store(self, batch: list[Cast], staged: Callable[[], None] | None) -> None:
        for c in batch:
            c.result = c.error = None
        results: dict[int, dict] = {}
        try:
            with self.service.store.write(staged=staged) as s:
                self._check_and_stage(s, batch, results)
        except StorageFailure as exc:  # the batch's commit failed: none of its casts is stored
            for c in batch:
                c.error = exc
            return
        except Exception as exc:  # noqa: BLE001 (told to the cast that caused it, below)
            if len(batch) > 1:  # one cast broke the batch (a constraint that raced past the checks...): each alone
                for c in batch:
                    self._store([c], None)
                return
            batch[0].error = self._refusal(exc, batch[0])
            return
        self.batches += 1
        self.casts += len(results)
        for c in batch:
            if c.error is None:
                c.result = results[id(c)]

    @staticmethod
    def _refusal(exc: Exception, c: Cast) -> Exception:
        """What a cast that failed alone is told; nothing of it was stored."""
        if isinstance(exc, Refusal):
            return exc
        if isinstance(exc, IntegrityError):
            if "used_keys" in str(exc.orig):
                return Conflict(f"replayed request: Idempotency-Key {c.key!r} was already used by this token; "
                                "nothing stored")
            return Conflict(f"conflicting write refused, nothing stored ({exc.orig})")
        return StorageFailure(f"this vote was not stored ({exc.__class__.__name__}: {exc}); send it again")

    def _check_and_stage(self, s: Session, batch: list[Cast], results: dict[int, dict]) -> None:
        svc = self.service
        who = self._principals(s, batch)
        live = [c for c in batch if c.error is None]
        # idempotency keys: those used before this batch, then those accepted in it
        pairs = {(who[id(c)].key, c.key) for c in live if c.key is not None}
        used = set()
        if pairs:
            used = {tuple(row) for row in s.execute(select(UsedKey.principal, UsedKey.key).where(
                tuple_(UsedKey.principal, UsedKey.key).in_(sorted(pairs))))}
        rounds: dict[int, Round | Refusal] = {}
        caches: dict[int, dict] = {}
        voted: dict[int, set[str]] = {}
        accepted: dict[int, list[tuple[Cast, Principal, str, dict]]] = {}
        for c in live:
            p = who[id(c)]
            try:
                if c.key is not None:
                    if len(c.key) > 200 or not c.key.strip():
                        raise Refusal("Idempotency-Key must be 1 to 200 characters", 422)
                    if (p.key, c.key) in used:
                        raise Conflict(f"replayed request: Idempotency-Key {c.key!r} was already used by this token; "
                                       "nothing stored")
                r = rounds.get(c.round_id)
                if r is None:
                    try:
                        r = rounds[c.round_id] = svc._round(s, c.round_id)
                        svc._check_head(s, r)  # a broken chain refuses the casts in its round only
                    except Refusal as exc:
                        r = rounds[c.round_id] = exc
                if isinstance(r, Refusal):
                    raise r
                content = c.content(s, r, caches.setdefault(r.id, {}), p, c.data)
                voter = voter_of(p)
                if r.id not in voted:
                    voters = {voter_of(who[id(o)]) for o in live if o.round_id == r.id}
                    voted[r.id] = set(s.scalars(select(Vote.voter).where(Vote.round_id == r.id, Vote.voter.in_(voters))))
                if voter in voted[r.id]:
                    raise Conflict(f"{voter.replace(':', ' ')} has voted in round {r.id} already; one vote each")
            except Refusal as exc:
                c.error = exc
                continue
            voted[r.id].add(voter)
            if c.key is not None:
                used.add((p.key, c.key))
            accepted.setdefault(r.id, []).append((c, p, voter, content))
        now = utcnow()
        keys = [{"principal": p.key, "key": c.key, "created_at": now}
                for cast in accepted.values() for c, p, _, _ in cast if c.key is not None]
        if keys:
            s.execute(insert(UsedKey), keys)
        for rid, cast in accepted.items():
            r = rounds[rid]
            assert isinstance(r, Round)
            table = Vote.__table__
            ids = s.execute(insert(table).returning(table.c.id, sort_by_parameter_order=True),
                            [{"round_id": rid, "voter": voter, "content": domain.canonical(content), "created_at": now}
                             for _, _, voter, content in cast]).scalars().all()
            kind = ENTRY_KIND[r.kind]
            svc._log_many(s, r, [(kind, {"vote": vid, "voter": voter, **content}, p)
                                 for vid, (_, p, voter, content) in zip(ids, cast, strict=True)])
            for vid, (c, _, voter, content) in zip(ids, cast, strict=True):
                results[id(c)] = {"id": vid, "round_id": rid, "voter": voter, **content}

    def _principals(self, s: Session, batch: list[Cast]) -> dict[int, Principal]:
        """Every cast's principal, read again in this transaction: a presented token is looked
        up by its hash, a known one by its id; revoked, expired or recalled ones are refused."""
        svc = self.service
        hashes = {id(c): hash_token(c.who.text) for c in batch if isinstance(c.who, Bearer)}
        ids = {c.who.token_id for c in batch if isinstance(c.who, Principal)}
        stmt = select(Token).where(or_(Token.id.in_(sorted(ids)), Token.token_hash.in_(sorted(set(hashes.values())))))
        stmt = stmt.execution_options(populate_existing=True)
        if not svc.store.is_sqlite:
            stmt = stmt.with_for_update(read=True)  # a recall waits for this batch, or this batch for it
        tokens = list(s.scalars(stmt))
        by_hash = {t.token_hash: t for t in tokens}
        by_id = {t.id: t for t in tokens}
        mandate_ids = sorted({t.mandate_id for t in tokens if t.mandate_id is not None})
        active = set(s.scalars(select(Mandate.id).where(Mandate.id.in_(mandate_ids), Mandate.active))) if mandate_ids else set()
        now = utcnow()

        def valid(t: Token | None) -> bool:
            return (t is not None and t.active and (t.expires_at is None or t.expires_at > now)
                    and (t.role != Role.DELEGATE or t.mandate_id in active))

        out: dict[int, Principal] = {}
        for c in batch:
            try:
                if isinstance(c.who, Bearer):
                    digest = hashes[id(c)]
                    t = by_hash.get(digest)
                    # looked up by hash; compared again in constant time so a partial match leaks nothing
                    if t is None or not hmac.compare_digest(t.token_hash, digest) or not valid(t):
                        svc.failed_auth.failed(c.who.address)
                        raise Unauthorized("this needs a bearer token (Authorization: Bearer TOKEN); yours is "
                                           "missing, unknown or revoked")
                    p = Principal(t.id, t.role, t.label, t.council_id, t.member_id, t.mandate_id)
                    svc.remember(digest, p)
                    out[id(c)] = c.authorize(p)
                else:
                    if not valid(by_id.get(c.who.token_id)):
                        raise Unauthorized("this token was revoked (a recalled or replaced delegate's token stops "
                                           "working at once)")
                    out[id(c)] = c.who
            except Refusal as exc:
                c.error = exc
        return out
