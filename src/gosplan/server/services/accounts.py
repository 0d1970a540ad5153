"""Accounts: who may act. Tokens and who holds them, sessions, revocation, rate limits.

Resolving and authorizing a presented token (with the failed-token limit per address and
the remembered principals), the administrator token (bootstrap, rotation), page sessions,
revocation, and the registry of councils, members and planners, whose acts are logged in
the registry chain.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gosplan.errors import GosplanError
from gosplan.server.auth import MIN_ADMIN_TOKEN, SESSION_HOURS, Bearer, Principal, Role, hash_token, new_token, resolve
from gosplan.server.db import Council, LedgerRow, Mandate, Member, Round, Token, utcnow
from gosplan.server.explain import article
from gosplan.server.services._base import Conflict, Forbidden, NotFound, ServiceBase, TooMany, Unauthorized

#: How messages name a role.
_ROLE_NAMES = {"admin": "administrator"}


class AccountActs(ServiceBase):
    """Tokens, sessions, councils, members and planners."""

    # -- tokens ----------------------------------------------------------------
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
            raise Forbidden(f"{article(_ROLE_NAMES.get(p.role, p.role))} may not do this; it needs the role "
                            f"{' or '.join(str(r) for r in roles)}")
        return p

    # -- administrator ---------------------------------------------------------
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
            self._council(s, council_id)  # exists, and is not retired
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

    # -- administrator: rename and retire ----------------------------------------
    # Retiring keeps every record (the ledger's history names them) and ends the holder's
    # ability to act: its tokens are revoked and a mandate it holds ends. The registry chain's
    # ``*_retired`` entries are the record of who is retired; the reads below take it from there.
    def rename_council(self, p: Principal | Bearer | None, council_id: int, name: str, key: str | None = None) -> dict:
        p = self.authorize(p, Role.ADMIN)
        with self._write(p, key) as s:
            reg = self._registry(s)
            c = self._council(s, council_id)
            if s.scalars(select(Council.id).where(Council.name == name, Council.id != council_id)).first() is not None:
                raise Conflict(f"a council named {name!r} exists already")
            old, c.name = c.name, name
            self._log(s, reg, "council_renamed", {"council": c.id, "from": old, "to": name}, p)
            return self.council_dict(s, c)

    def retire_council(self, p: Principal | Bearer | None, council_id: int, key: str | None = None) -> dict:
        """Retire a council: its members' tokens are revoked, its mandates end; its history stays."""
        p = self.authorize(p, Role.ADMIN)
        with self._write(p, key) as s:
            reg = self._registry(s)
            c = self._council(s, council_id)
            members = list(s.scalars(select(Member.id).where(Member.council_id == council_id)))
            ended = self._end_mandates(s, Mandate.council_id == council_id, "council retired")
            revoked = self._revoke_where(s, reg, Token.council_id == council_id, f"council {council_id} retired")
            self._log(s, reg, "council_retired", {"council": c.id, "name": c.name, "members": members,
                                                  "mandates_ended": ended, "tokens_revoked": sorted(set(revoked))}, p)
            return {**self.council_dict(s, c), "retired": True}

    def rename_member(self, p: Principal | Bearer | None, member_id: int, name: str, key: str | None = None) -> dict:
        p = self.authorize(p, Role.ADMIN)
        with self._write(p, key) as s:
            reg = self._registry(s)
            m = self._member(s, member_id)
            if s.scalars(select(Member.id).where(Member.council_id == m.council_id, Member.name == name,
                                                 Member.id != member_id)).first():
                raise Conflict(f"council {m.council_id} has a member named {name!r} already")
            old, m.name = m.name, name
            for t in s.scalars(select(Token).where(Token.member_id == member_id, Token.role == Role.MEMBER)):
                t.label = name
            self._log(s, reg, "member_renamed", {"council": m.council_id, "member": m.id, "from": old, "to": name}, p)
            return {"id": m.id, "council_id": m.council_id, "name": m.name}

    def retire_member(self, p: Principal | Bearer | None, member_id: int, key: str | None = None) -> dict:
        """Retire a member: its tokens (member and delegate) are revoked and a mandate it holds ends."""
        p = self.authorize(p, Role.ADMIN)
        with self._write(p, key) as s:
            reg = self._registry(s)
            m = self._member(s, member_id)
            ended = self._end_mandates(s, Mandate.member_id == member_id, "member retired")
            revoked = self._revoke_where(s, reg, Token.member_id == member_id, f"member {member_id} retired")
            self._log(s, reg, "member_retired", {"council": m.council_id, "member": m.id, "name": m.name,
                                                 "mandates_ended": ended, "tokens_revoked": sorted(set(revoked))}, p)
            return {"id": m.id, "council_id": m.council_id, "name": m.name, "retired": True}

    def planners(self) -> list[dict]:
        """The planners' tokens issued by the administrator (not their page sessions)."""
        with self.store.read() as s:
            return [{"id": t.id, "label": t.label, "active": t.active} for t in s.scalars(
                select(Token).where(Token.role == Role.PLANNER, Token.parent_id.is_(None)).order_by(Token.id))]

    def rename_planner(self, p: Principal | Bearer | None, token_id: int, label: str, key: str | None = None) -> dict:
        p = self.authorize(p, Role.ADMIN)
        with self._write(p, key) as s:
            reg = self._registry(s)
            t = self._planner(s, token_id)
            old = t.label
            for x in s.scalars(select(Token).where((Token.id == token_id) | (Token.parent_id == token_id))):
                x.label = label
            self._log(s, reg, "planner_renamed", {"token": t.id, "from": old, "to": label}, p)
            return {"id": t.id, "label": label, "active": t.active}

    def retire_planner(self, p: Principal | Bearer | None, token_id: int, key: str | None = None) -> dict:
        p = self.authorize(p, Role.ADMIN)
        with self._write(p, key) as s:
            reg = self._registry(s)
            t = self._planner(s, token_id)
            if not t.active:
                raise Conflict(f"planner {token_id} ({t.label}) is retired already")
            revoked = self._revoke_where(s, reg, Token.id == token_id, f"planner {token_id} retired")
            self._log(s, reg, "planner_retired", {"token": t.id, "label": t.label, "tokens_revoked": sorted(set(revoked))}, p)
            return {"id": t.id, "label": t.label, "active": False}

    def _council(self, s: Session, council_id: int) -> Council:
        c = s.get(Council, council_id)
        if c is None:
            raise NotFound(f"council {council_id} does not exist")
        if council_id in self._retired(s, "council_retired", "council"):
            raise Conflict(f"council {council_id} ({c.name}) is retired; its record is kept but it takes no new acts")
        return c

    def _member(self, s: Session, member_id: int) -> Member:
        m = s.get(Member, member_id)
        if m is None:
            raise NotFound(f"member {member_id} does not exist")
        if member_id in self._retired(s, "member_retired", "member"):
            raise Conflict(f"member {member_id} ({m.name}) is retired; the record is kept but takes no new acts")
        if m.council_id in self._retired(s, "council_retired", "council"):
            raise Conflict(f"member {member_id} belongs to council {m.council_id}, which is retired")
        return m

    @staticmethod
    def _planner(s: Session, token_id: int) -> Token:
        t = s.get(Token, token_id)
        if t is None or t.role != Role.PLANNER or t.parent_id is not None:
            raise NotFound(f"planner {token_id} does not exist (GET /planners lists them)")
        return t

    @staticmethod
    def _end_mandates(s: Session, condition, reason: str) -> list[int]:  # noqa: ANN001
        ended = []
        for m in s.scalars(select(Mandate).where(condition, Mandate.active)):
            m.active, m.ended_at, m.ended_reason = False, utcnow(), reason
            ended.append(m.id)
        return ended

    def _retired(self, s: Session, kind: str, field: str) -> set[int]:
        """Ids retired by the registry chain's ``kind`` entries (the ledger is the record of it)."""
        import json

        # canonical JSON writes "kind":"..." exactly so: a substring match finds the entries
        rows = s.scalars(select(LedgerRow.entry).where(LedgerRow.round_id == self.registry_id,
                                                       LedgerRow.entry.contains(f'"kind":"{kind}"')))
        return {int(json.loads(t)["payload"][field]) for t in rows}

    # -- reads -----------------------------------------------------------------
    @staticmethod
    def council_dict(s: Session, c: Council, retired: bool = False) -> dict:
        n = s.scalar(select(func.count(Member.id)).where(Member.council_id == c.id))
        return {"id": c.id, "name": c.name, "kind": c.kind, "weight": c.weight, "recall_threshold": c.recall_threshold,
                "seats": c.seats, "members": n, "retired": retired}

    def councils(self) -> list[dict]:
        with self.store.read() as s:
            retired = self._retired(s, "council_retired", "council")
            return [self.council_dict(s, c, c.id in retired) for c in s.scalars(select(Council).order_by(Council.id))]

    def members(self, council_id: int) -> list[dict]:
        with self.store.read() as s:
            retired = self._retired(s, "member_retired", "member")
            return [{"id": m.id, "name": m.name, "council_id": m.council_id, "retired": m.id in retired}
                    for m in s.scalars(select(Member).where(Member.council_id == council_id).order_by(Member.id))]
