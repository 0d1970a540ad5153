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

from gosplan.server.services._base import (
    REGISTRY_TITLE,
    Conflict,
    Forbidden,
    Invalid,
    LedgerBroken,
    NotFound,
    Refusal,
    ServiceBase,
    TooMany,
    Unauthorized,
    loads,
)
from gosplan.server.services.accounts import AccountActs
from gosplan.server.services.elections import ElectionActs
from gosplan.server.services.ledger import LedgerActs
from gosplan.server.services.participatory import ParticipatoryActs
from gosplan.server.services.rounds import RoundActs

__all__ = [
    "REGISTRY_TITLE",
    "AccountActs",
    "Conflict",
    "ElectionActs",
    "Forbidden",
    "Invalid",
    "LedgerActs",
    "LedgerBroken",
    "NotFound",
    "ParticipatoryActs",
    "Refusal",
    "RoundActs",
    "Service",
    "ServiceBase",
    "TooMany",
    "Unauthorized",
    "loads",
]


class Service(AccountActs, RoundActs, ElectionActs, LedgerActs, ParticipatoryActs):
    """The acts of the service over one :class:`Store`.

    One object combining the parts, each in its own module: accounts and tokens
    (:mod:`.accounts`), rounds, proposals, votes and ballots (:mod:`.rounds`), elections
    and recall (:mod:`.elections`), the ledger's export, import, verification and heads
    (:mod:`.ledger`), over the shared transaction and ledger-append mechanics
    (:mod:`._base`). No two parts define the same name.
    """
