"""The JSON API: pydantic models of every request and the routes over :mod:`services`.

Reads are public (the record of a democratic plan is open to everyone); writes
need a bearer token of the right role and an ``Idempotency-Key`` header (or a
``nonce`` field in the body), so that a replayed request is refused with 409 and
stores nothing. Request bodies are validated here (shape, types, signs, finiteness);
the services check them against the round (products, projects, candidates).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, Path, Query, Request
from fastapi.responses import PlainTextResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from gosplan.democracy.rounds import DEFAULT_QUORUM, MAX_QUANTITY, RoundStatus
from gosplan.server.auth import Bearer, bearer
from gosplan.server.services import Conflict, Invalid, Service

#: Ids are 32-bit on every database the service runs on (PostgreSQL's integer).
MAX_ID = 2**31 - 1
Id = Annotated[int, Field(ge=1, le=MAX_ID)]
PathId = Annotated[int, Path(ge=1, le=MAX_ID)]
QueryId = Annotated[int | None, Query(ge=1, le=MAX_ID)]
Quantity = Annotated[float, Field(ge=0, le=MAX_QUANTITY, allow_inf_nan=False)]
Name = Annotated[str, Field(min_length=1, max_length=200)]
Nonce = Annotated[str | None, Field(default=None, min_length=1, max_length=200)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CouncilIn(_In):
    name: Name
    kind: Literal["workers", "consumers", "region"] = "workers"
    weight: Annotated[float, Field(gt=0, allow_inf_nan=False)] = 1.0
    recall_threshold: Annotated[float, Field(gt=0, le=1)] = 0.5
    seats: Annotated[int, Field(ge=1, le=100)] = 1
    nonce: Nonce = None


class MemberIn(_In):
    name: Name
    nonce: Nonce = None


class PlannerIn(_In):
    label: Name
    nonce: Nonce = None


class ProjectIn(_In):
    key: Annotated[str, Field(min_length=1, max_length=100)]
    name: Annotated[str, Field(max_length=300)] = ""
    cost: Annotated[float, Field(gt=0, le=1e15, allow_inf_nan=False)]
    category: Annotated[str, Field(max_length=100)] = ""
    district: Annotated[str, Field(max_length=100)] = ""


class RoundIn(_In):
    kind: Literal["plan", "budget", "election"]
    title: Annotated[str, Field(min_length=1, max_length=300)]
    rule: Annotated[str, Field(min_length=1, max_length=40)]
    economy: str | None = None
    objective: Annotated[str, Field(max_length=200)] | None = None
    council_id: Id | None = None
    budget: Annotated[float, Field(gt=0, le=1e15, allow_inf_nan=False)] | None = None
    ballot: Literal["approval", "cumulative", "ordinal"] = "approval"
    min_length: Annotated[int, Field(ge=0)] | None = None
    max_length: Annotated[int, Field(ge=1)] | None = None
    max_sum_points: Annotated[int, Field(ge=1)] | None = None
    projects: Annotated[list[ProjectIn], Field(max_length=2000)] | None = None
    candidates: Annotated[list[Id], Field(max_length=1000)] | None = None
    seats: Annotated[int, Field(ge=1, le=100)] | None = None
    #: share of the council's members whose ballots an election needs (default 0.5)
    quorum: Annotated[float, Field(gt=0, le=1, allow_inf_nan=False)] = DEFAULT_QUORUM
    nonce: Nonce = None


class ProposalIn(_In):
    council_id: Id
    basket: Annotated[dict[str, Quantity], Field(max_length=100_000)] = {}
    priorities: Annotated[dict[str, Quantity], Field(max_length=100_000)] = {}
    limits: Annotated[dict[str, Quantity], Field(max_length=100)] = {}
    nonce: Nonce = None


class VoteIn(_In):
    council_id: Id
    approve: Annotated[list[Id], Field(max_length=10_000)] | None = None
    ranking: Annotated[list[Id], Field(max_length=10_000)] | None = None
    nonce: Nonce = None


class BallotIn(_In):
    """A member's ballot: project ids (budget rounds) or candidates' member ids (elections)."""

    approve: Annotated[list[Annotated[str, Field(max_length=100)] | Id], Field(max_length=10_000)] | None = None
    ranking: Annotated[list[Annotated[str, Field(max_length=100)] | Id], Field(max_length=10_000)] | None = None
    points: Annotated[dict[str, Annotated[int, Field(ge=0, le=10**9)]], Field(max_length=10_000)] | None = None
    nonce: Nonce = None


class EmptyIn(_In):
    nonce: Nonce = None


async def _service(request: Request) -> Service:
    return request.app.state.service


async def principal(request: Request, authorization: Annotated[str | None, Header()] = None) -> Bearer | None:
    """The caller's token: ``Authorization: Bearer`` only (checked by the service).

    The pages' session cookie is not accepted here: a browser sends a cookie with requests
    other sites make, a header it never does, so the API cannot be driven by cross-site forgery.
    """
    text = bearer(authorization)
    return Bearer(text, request.client.host if request.client else "") if text else None


def _key(idempotency_key: str | None, body: BaseModel | None) -> str:
    key = idempotency_key or (getattr(body, "nonce", None) if body is not None else None)
    if not key:
        raise Invalid(
            "missing Idempotency-Key: send a unique Idempotency-Key header (or a 'nonce' field) with every write, "
            "so that a replayed request can be refused", status=428)
    return key


Who = Annotated[Bearer | None, Depends(principal)]
Svc = Annotated[Service, Depends(_service)]
IdemKey = Annotated[str | None, Header(alias="Idempotency-Key")]


def _dump(m: BaseModel) -> dict[str, Any]:
    d = m.model_dump()
    d.pop("nonce", None)
    return d


# Routes return plain dicts the services built; they declare no response model, which
# spares every sync route a second trip through the worker threads (FastAPI validates a
# declared response model there), so a response leaves as soon as its handler is done.
router = APIRouter()


@router.get("/health", tags=["service"])
def health(svc: Svc):
    """Up, its database, and the round id of the registry (the ledger of councils, members and tokens)."""
    st = svc.store
    return {"ok": True, "database": st.engine.dialect.name, "registry_round": svc.registry_id,
            "group_commit": {"on": st.group, "commits": st.commits, "acts": st.committed_acts}}


@router.get("/me", tags=["service"])
def me(who: Who, svc: Svc):
    who = svc.whois(who)
    if who is None:
        return {"role": None}
    return {"role": who.role, "label": who.label, "council_id": who.council_id, "member_id": who.member_id,
            "mandate_id": who.mandate_id}


@router.post("/councils", status_code=201, tags=["administrator"])
def create_council(body: CouncilIn, who: Who, svc: Svc, key: IdemKey = None):
    return svc.create_council(who, _dump(body), _key(key, body))


@router.get("/councils", tags=["public"])
def councils(svc: Svc):
    return svc.councils()


@router.post("/councils/{council_id}/members", status_code=201, tags=["administrator"])
def create_member(council_id: PathId, body: MemberIn, who: Who, svc: Svc, key: IdemKey = None):
    """Register a member; the response carries the member's token, shown this once."""
    return svc.create_member(who, council_id, body.name, _key(key, body))


@router.get("/councils/{council_id}/members", tags=["public"])
def members(council_id: PathId, svc: Svc):
    return svc.members(council_id)


@router.post("/planners", status_code=201, tags=["administrator"])
def create_planner(body: PlannerIn, who: Who, svc: Svc, key: IdemKey = None):
    return svc.create_planner(who, body.label, _key(key, body))


@router.get("/rounds", tags=["public"])
def rounds(svc: Svc):
    return svc.rounds()


@router.post("/rounds", status_code=201, tags=["planner"])
def open_round(body: RoundIn, who: Who, svc: Svc, key: IdemKey = None):
    data = _dump(body)
    if body.kind == "budget":
        if body.budget is None:
            raise Invalid("budget: a budget round needs a budget > 0")
        data["projects"] = [p.model_dump() for p in body.projects or []]
    return svc.open_round(who, data, _key(key, body))


@router.post("/rounds/pabulib", status_code=201, tags=["planner"])
async def open_budget_from_pabulib(request: Request, who: Who, rule: str = "equal-shares", council_id: QueryId = None,
                                   title: str | None = None, key: IdemKey = None):
    """Open a budget round with the budget, ballot kind, limits and projects of a Pabulib ``.pb``
    file sent as the body; members then vote in the service (the file's votes are not taken over)."""
    from starlette.concurrency import run_in_threadpool

    from gosplan.server import _domain

    svc: Service = request.app.state.service
    await run_in_threadpool(svc.authorize, who, "planner")
    try:
        text = (await request.body()).decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise Invalid(f"the .pb file is not UTF-8 (byte {exc.start})") from None
    data = _domain.budget_from_pabulib(text)
    data.update(kind="budget", rule=rule, council_id=council_id)
    if title:
        data["title"] = title
    if len(data["title"]) > 300:
        data["title"] = data["title"][:300]
    return await run_in_threadpool(svc.open_round, who, data, _key(key, None))


@router.get("/rounds/{round_id}/pabulib", tags=["public"], response_class=PlainTextResponse)
def budget_pabulib(round_id: PathId, svc: Svc) -> Response:
    """A budget round and its ballots as a Pabulib file: rerun the rule with ``gosplan budget FILE.pb``."""
    return Response(svc.budget_pabulib(round_id), media_type="text/plain; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="round-{round_id}.pb"'})


@router.post("/rounds/import", status_code=201, tags=["planner"])
async def import_round(request: Request, who: Who, key: IdemKey = None):
    """Import a round exported by ``GET /rounds/{id}/ledger``; it is verified first, and refused if it does not."""
    from starlette.concurrency import run_in_threadpool

    svc: Service = request.app.state.service
    data = await request.body()
    return await run_in_threadpool(svc.import_ledger, who, data, _key(key, None))


@router.get("/rounds/{round_id}", tags=["public"])
def round_(round_id: PathId, svc: Svc):
    return svc.round(round_id)


@router.post("/rounds/{round_id}/close", tags=["planner"])
def close(round_id: PathId, who: Who, svc: Svc, key: IdemKey = None, body: EmptyIn | None = None):
    return svc.close_round(who, round_id, _key(key, body))


@router.post("/rounds/{round_id}/compute", tags=["planner"])
def compute(round_id: PathId, who: Who, svc: Svc, key: IdemKey = None, body: EmptyIn | None = None):
    """Aggregate the proposals by the round's rule into targets and compute the plan."""
    return svc.compute_plan(who, round_id, _key(key, body))


@router.post("/rounds/{round_id}/publish", tags=["planner"])
def publish(round_id: PathId, who: Who, svc: Svc, key: IdemKey = None, body: EmptyIn | None = None):
    return svc.publish(who, round_id, _key(key, body))


@router.get("/rounds/{round_id}/result", tags=["public"])
def result(round_id: PathId, svc: Svc):
    r = svc.round(round_id)
    if r["status"] != RoundStatus.PUBLISHED:
        raise Conflict(f"round {round_id} is {r['status']}; its result is not published yet")
    return r["result"]


@router.post("/rounds/{round_id}/proposals", status_code=201, tags=["delegate"])
def propose(round_id: PathId, body: ProposalIn, who: Who, svc: Svc, key: IdemKey = None):
    return svc.propose(who, round_id, _dump(body), _key(key, body))


@router.post("/rounds/{round_id}/votes", status_code=201, tags=["delegate"])
async def vote(round_id: PathId, body: VoteIn, who: Who, svc: Svc, key: IdemKey = None):
    # on the event loop: a vote waits for its batch's commit without holding a worker thread
    return await svc.vote_async(who, round_id, _dump(body), _key(key, body))


@router.get("/rounds/{round_id}/votes", tags=["public"])
def votes(round_id: PathId, svc: Svc):
    svc.round(round_id)
    return svc.votes(round_id)


@router.post("/rounds/{round_id}/ballots", status_code=201, tags=["member"])
async def ballot(round_id: PathId, body: BallotIn, who: Who, svc: Svc, key: IdemKey = None):
    return await svc.ballot_async(who, round_id, _dump(body), _key(key, body))


@router.post("/rounds/{round_id}/candidates", status_code=201, tags=["member"])
def nominate(round_id: PathId, who: Who, svc: Svc, key: IdemKey = None, body: EmptyIn | None = None):
    """A member stands as a candidate in an open election of its council."""
    return svc.nominate(who, round_id, _key(key, body))


@router.get("/rounds/{round_id}/ledger", tags=["public"], response_class=PlainTextResponse)
def ledger(round_id: PathId, svc: Svc) -> Response:
    """The round's ledger as one file: JSON Lines, a header then one entry per line, oldest first.

    ``gosplan ledger verify URL`` checks it.
    """
    return Response(svc.ledger_export(round_id), media_type="application/x-ndjson",
                    headers={"Content-Disposition": f'attachment; filename="round-{round_id}.jsonl"'})


@router.get("/rounds/{round_id}/ledger/verify", tags=["public"])
def verify(round_id: PathId, svc: Svc, replay: bool = True):
    """Check the stored chain, its recorded head and every head published for it, and
    (``replay``, the default) recompute every outcome from the entries."""
    return svc.verify(round_id, replay=replay)


@router.get("/rounds/{round_id}/head", tags=["public"])
def head(round_id: PathId, svc: Svc):
    """The round's latest published head (entries, hash), signed with the server's Ed25519 key:
    keep it, and check a later export with ``gosplan ledger verify EXPORT --head FILE``."""
    return svc.head(round_id)


@router.get("/rounds/{round_id}/heads", tags=["public"])
def heads(round_id: PathId, svc: Svc):
    """Every head published for the round, oldest first."""
    return svc.heads(round_id)


@router.get("/key", tags=["public"])
def key(svc: Svc):
    """The server's public key (Ed25519, hex) that signs published heads."""
    return {"algorithm": "Ed25519", "public_key": svc.signer.public_key}


@router.get("/mandates", tags=["public"])
def mandates(svc: Svc, council_id: QueryId = None):
    return svc.mandates(council_id)


@router.post("/mandates/{mandate_id}/petition", status_code=201, tags=["member"])
def petition(mandate_id: PathId, who: Who, svc: Svc, key: IdemKey = None, body: EmptyIn | None = None):
    """Sign the recall petition against a delegate; at the council's threshold the mandate ends."""
    return svc.sign_recall(who, mandate_id, _key(key, body))


@router.post("/me/revoke", tags=["service"])
def revoke_me(who: Who, svc: Svc, key: IdemKey = None, body: EmptyIn | None = None):
    """Revoke the token this request carries (and the page sessions opened with it)."""
    return svc.revoke(who, None, _key(key, body))


@router.post("/tokens/{token_id}/revoke", tags=["administrator"])
def revoke_token(token_id: PathId, who: Who, svc: Svc, key: IdemKey = None, body: EmptyIn | None = None):
    """An administrator revokes any token by its id (the ledger's ``token`` numbers)."""
    return svc.revoke(who, token_id, _key(key, body))


@router.post("/me/delegate-token", status_code=201, tags=["member"])
def delegate_token(who: Who, svc: Svc, key: IdemKey = None, body: EmptyIn | None = None):
    """An elected member's delegate token (shown once; an earlier one stops working)."""
    return svc.delegate_token(who, _key(key, body))
