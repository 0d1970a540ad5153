"""Who may do what: bearer tokens, hashed at rest, and the four roles of the service.

Roles: ``admin`` (registers councils and members, issues planner tokens),
``planner`` (opens, closes, computes and publishes rounds), ``delegate`` (acts for
its own council in plan rounds; the token exists only while the mandate won in an
election lasts) and ``member`` (votes in budget rounds and delegate elections,
signs recall petitions). A token is 32 random bytes shown once; the database keeps
its SHA-256, looked up by hash and compared in constant time. Every request reads
the token row again, so a revoked token (a recalled delegate's) stops working at
once.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from gosplan.server.db import Mandate, Token

ROLES = ("admin", "planner", "delegate", "member")


def new_token() -> tuple[str, str]:
    """A fresh token and its hash: the text for the holder, the hash for the database."""
    text = secrets.token_urlsafe(32)
    return text, hash_token(text)


def hash_token(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@dataclasses.dataclass(frozen=True)
class Principal:
    """The holder of a valid token, as the request's handlers see it."""

    token_id: int
    role: str
    label: str
    council_id: int | None = None
    member_id: int | None = None
    mandate_id: int | None = None

    @property
    def key(self) -> str:
        """The scope of idempotency keys: keys are per token."""
        return f"token:{self.token_id}"


@dataclasses.dataclass(frozen=True)
class Bearer:
    """A token as presented, not yet checked: the service checks it in the handler's own
    thread, so a request costs one trip to a worker thread, not one per dependency."""

    text: str

    def __repr__(self) -> str:  # never print a token
        return "Bearer(...)"


def resolve(session: Session, text: str | None) -> Principal | None:
    """The principal holding token ``text``, or None if it is unknown, revoked or its mandate ended."""
    if not text:
        return None
    digest = hash_token(text)
    row = session.scalars(select(Token).where(Token.token_hash == digest)).first()
    # the lookup is by hash; compare again in constant time so a partial match leaks nothing
    if row is None or not hmac.compare_digest(row.token_hash, digest) or not row.active:
        return None
    if row.role == "delegate":
        mandate = session.get(Mandate, row.mandate_id) if row.mandate_id else None
        if mandate is None or not mandate.active:
            return None
    return Principal(row.id, row.role, row.label, row.council_id, row.member_id, row.mandate_id)


def bearer(header: str | None) -> str | None:
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None
