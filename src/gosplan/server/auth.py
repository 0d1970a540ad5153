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

import collections
import dataclasses
import datetime as dt
import enum
import hashlib
import hmac
import secrets
import threading
import time

from sqlalchemy import select
from sqlalchemy.orm import Session

from gosplan.server.db import Mandate, Token


class Role(enum.StrEnum):
    ADMIN = "admin"
    PLANNER = "planner"
    DELEGATE = "delegate"
    MEMBER = "member"


ROLES = tuple(r.value for r in Role)

#: Shortest administrator token accepted from the environment: 32 characters (at least
#: 128 bits if random); the tokens the service makes are 43 (256 bits).
MIN_ADMIN_TOKEN = 32

#: How long a page session (a login) lasts.
SESSION_HOURS = 12


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
    #: The client's address, for the limit on failed presentations.
    address: str = ""

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
    if row.expires_at is not None and row.expires_at <= dt.datetime.now(dt.UTC).replace(tzinfo=None):
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


def form_tag(session_token: str, nonce: str) -> str:
    """The tag that binds a form's nonce to the session that rendered it (CSRF).

    Only the holder of the session's token can compute it: a page elsewhere cannot make a
    form this session will accept.
    """
    key = hashlib.sha256(b"gosplan-form:" + session_token.encode()).digest()
    return hmac.new(key, nonce.encode(), hashlib.sha256).hexdigest()[:32]


class FailedAuth:
    """Failed token presentations per client address, in a sliding window: guessing is refused.

    After ``limit`` failures within ``window`` seconds an address gets 429 until the window
    has passed; ``$GOSPLAN_AUTH_FAILURES`` sets the limit (default 20 per 60 s).
    """

    def __init__(self, limit: int = 20, window: float = 60.0, max_addresses: int = 100_000):
        self.limit, self.window, self.max_addresses = limit, window, max_addresses
        self._fails: dict[str, collections.deque] = {}
        self._lock = threading.Lock()

    def _recent(self, address: str, now: float) -> collections.deque:
        q = self._fails.get(address)
        if q is None:
            if len(self._fails) >= self.max_addresses:
                self._fails.clear()  # bounded memory; an attacker gains one window at most
            q = self._fails[address] = collections.deque()
        while q and q[0] <= now - self.window:
            q.popleft()
        return q

    def blocked(self, address: str) -> float:
        """Seconds until ``address`` may try again (0 when it may)."""
        now = time.monotonic()
        with self._lock:
            q = self._recent(address, now)
            return q[0] + self.window - now if len(q) >= self.limit else 0.0

    def failed(self, address: str) -> None:
        now = time.monotonic()
        with self._lock:
            self._recent(address, now).append(now)
