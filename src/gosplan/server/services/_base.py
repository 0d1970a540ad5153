"""The shared base of the service's parts: refusals, the write transaction, the ledger append.

:class:`ServiceBase` holds the :class:`Store`, the head signer and the registry chain, and
the mechanics every act shares: a write transaction that checks the caller's token again
and claims the idempotency key first (:meth:`ServiceBase._write`, committed with its batch
by :meth:`Store.write`), the round lock, and the append of a ledger entry in that same
transaction (:meth:`ServiceBase._log`, after checking the chain ends at its recorded head).
The parts (:mod:`.accounts`, :mod:`.rounds`, :mod:`.elections`, :mod:`.ledger`) build on it
and call each other's methods through ``self``; :class:`gosplan.server.services.Service`
combines them.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
from collections.abc import Iterator
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from gosplan.democracy.rounds import RoundKind, RoundStatus
from gosplan.errors import GosplanError
from gosplan.server import _domain as domain
from gosplan.server.auth import Bearer, FailedAuth, Principal, Role, hash_token
from gosplan.server.db import Head, LedgerRow, Mandate, Round, Store, Token, UsedKey, utcnow
from gosplan.server.heads import HeadsMirror, Signer, default_key_path


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



class ServiceBase:
    """The state and the transaction mechanics shared by the acts of the service over one :class:`Store`."""

    def __init__(self, store: Store, signer: Signer | None = None):
        self.store = store
        self.signer = signer if signer is not None else Signer(default_key_path(store.url))
        self.failed_auth = FailedAuth(int(os.environ.get("GOSPLAN_AUTH_FAILURES", "20")))
        self._principals: dict[str, Principal] = {}
        #: the append-only copy of every signed head, when ``$GOSPLAN_HEADS_MIRROR`` names a file
        self.heads_mirror = HeadsMirror(os.environ["GOSPLAN_HEADS_MIRROR"]) if os.environ.get("GOSPLAN_HEADS_MIRROR") else None
        #: replayed verifications by (round, entries, head, published heads) (:meth:`LedgerActs.verify`)
        self._replays: dict[tuple, dict] = {}
        if self.heads_mirror is not None:  # before any write: a database its mirror contradicts is not served
            with self.store.read() as s:
                self.heads_mirror.catch_up(list(s.scalars(select(Head.signed).order_by(Head.id))))
        self.registry_id = self._ensure_registry()

    # -- plumbing --------------------------------------------------------------
    def remember(self, token_hash: str, p: Principal) -> None:
        """Keep the principal behind a token (its role, council, member and mandate never change);
        whether the token is still valid is checked again by every write."""
        if len(self._principals) < 100_000:
            self._principals[token_hash] = p

    def _presented(self, p: Principal | Bearer | None) -> Principal | Bearer:
        """A presented token as the principal already known for it, else as it came (checked later);
        401 without one, 429 for an address that failed too often."""
        if p is None:
            raise Unauthorized("this needs a bearer token (Authorization: Bearer TOKEN); yours is missing, unknown or revoked")
        if isinstance(p, Bearer):
            wait = self.failed_auth.blocked(p.address)
            if wait:
                raise TooMany(f"too many failed tokens from {p.address or 'this address'}; try again in {wait:.0f} s")
            return self._principals.get(hash_token(p.text)) or p
        return p

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
        self._log_many(s, rnd, [(kind, payload, actor)])

    def _log_many(self, s: Session, rnd: Round, entries: list[tuple[str, dict, Principal | str]]) -> None:
        """Append ``(kind, payload, actor)`` entries to ``rnd``'s chain in order, as one multi-row
        insert; the caller holds the round's lock."""
        self._check_head(s, rnd)
        rows, seq, head = [], rnd.seq, rnd.head_hash or domain.GENESIS
        for kind, payload, actor in entries:
            seq += 1
            text, head = domain.ledger_next(head, seq, kind, actor if isinstance(actor, str) else _actor(actor), payload)
            rows.append({"round_id": rnd.id, "seq": seq, "entry": text, "hash": head})
        if rows:
            s.execute(insert(LedgerRow), rows)
            rnd.seq, rnd.head_hash = seq, head

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
        text = domain.canonical(signed)
        s.add(Head(round_id=r.id, entries=r.seq + 1, hash=r.head_hash, signed=text))
        if self.heads_mirror is not None:
            self.store.after_commit(s, functools.partial(self.heads_mirror.append, text))
        return signed

    def sign_missing_heads(self) -> tuple[list[int], list[tuple[int, str]]]:
        """Publish a signed head for every round that has none (a database made before heads were
        signed, after :func:`gosplan.server.db.migrate`), if its chain verifies up to its recorded
        head: ``(round ids signed, [(round id, why not)])``."""
        with self.store.read() as s:
            ids = list(s.scalars(select(Round.id).where(Round.kind != RoundKind.REGISTRY, Round.seq >= 0,
                                                        ~select(Head.id).where(Head.round_id == Round.id).exists())
                                 .order_by(Round.id)))
        signed, refused = [], []
        for rid in ids:
            with self.store.write() as s:
                r = self.store.lock_round(s, rid)
                texts = list(s.scalars(select(LedgerRow.entry).where(LedgerRow.round_id == rid).order_by(LedgerRow.seq)))
                report = domain.ledger_verify(texts, expected_count=r.seq + 1, expected_head=r.head_hash or None)
                if report["ok"]:
                    self._sign_head(s, r)
                    signed.append(rid)
                else:
                    refused.append((rid, report["message"]))
        return signed, refused

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
