"""The ledger as the service shows it: export, import, verify, and the signed heads.

Reading a round's chain, exporting it, checking it (hashes, recorded head, every published
head, replayed outcomes), storing an exported chain as a read-only round, and the heads the
server published. Appending to a chain happens inside each act's transaction
(:meth:`ServiceBase._log`, in :mod:`._base`).
"""

from __future__ import annotations

import copy
import functools

from sqlalchemy import select
from sqlalchemy.orm import Session

from gosplan.democracy.rounds import RoundKind, RoundStatus
from gosplan.server import _domain as domain
from gosplan.server.auth import Bearer, Principal, Role
from gosplan.server.db import Head, LedgerRow, Round
from gosplan.server.services._base import Invalid, NotFound, ServiceBase, loads

#: Replayed verifications kept (per round, head and published heads) before the memory is cleared.
REPLAYS_KEPT = 1000


class LedgerActs(ServiceBase):
    """Export, import and verify rounds' chains; their published heads."""

    # -- ledger ----------------------------------------------------------------
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
        server published for it, and (``replay``) every outcome recomputed from its entries.

        The chain is hashed again on every call, so a row changed behind the service's back is
        found at once; the replay (which may solve a plan) is kept per round, head and published
        heads: a chain that verifies up to the same head holds the same entries, so its outcomes
        are the same, and anyone may ask again without making the server solve again.
        """
        with self.store.read() as s:
            r = self._public_round(s, round_id)
            texts = list(s.scalars(select(LedgerRow.entry).where(LedgerRow.round_id == round_id).order_by(LedgerRow.seq)))
            pinned = [(h.entries, h.hash) for h in s.scalars(select(Head).where(Head.round_id == round_id).order_by(Head.id))]
            count, head, kind = r.seq + 1, r.head_hash, r.kind
        check = functools.partial(domain.ledger_verify, texts, expected_count=count, expected_head=head or None,
                                  pinned=pinned)
        if not replay or kind == RoundKind.IMPORTED:
            return check(replay=False)
        chain = check(replay=False)
        if not chain["ok"]:
            return chain
        key = (round_id, count, head, tuple(pinned))
        report = self._replays.get(key)
        if report is None:
            report = check(replay=True)
            if len(self._replays) >= REPLAYS_KEPT:
                self._replays.clear()
            self._replays[key] = report
        return copy.deepcopy(report)

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
