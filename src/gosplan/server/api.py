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
from gosplan.server.services import Conflict, Invalid, NotFound, Service

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


Change = Annotated[float, Field(ge=-100, le=1e6, allow_inf_nan=False)]


class ProposalIn(_In):
    """A council's proposal for a plan round, in any mix of shapes.

    A product's amount in ``basket`` wins over its per cent change in ``changes``, which
    wins over its group's change in ``groups``; products named by none are not proposed.
    The round stores the result as absolute amounts per product (``basket``), so the
    page's form and this endpoint give the same proposal.
    """

    council_id: Id
    basket: Annotated[dict[str, Quantity], Field(max_length=100_000)] = {}
    changes: Annotated[dict[str, Change], Field(max_length=100_000)] = {}
    groups: Annotated[dict[str, Change], Field(max_length=1000)] = {}
    priorities: Annotated[dict[str, Quantity], Field(max_length=100_000)] = {}
    group_priorities: Annotated[dict[str, Quantity], Field(max_length=1000)] = {}
    limits: Annotated[dict[str, Quantity], Field(max_length=100)] = {}
    comment: Annotated[str, Field(max_length=2000)] = ""
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


class RenameIn(_In):
    name: Name = Field(description="the new name (of a council, member or planner)")
    nonce: Nonce = None


def _describe(model: type[BaseModel], **texts: str) -> None:
    """Give ``model``'s fields their OpenAPI descriptions, kept in one place (below) beside the
    sentences the pages use (:mod:`gosplan.server.explain`)."""
    for name, text in texts.items():
        if name in model.model_fields:  # a test checks that every field has a description
            model.model_fields[name].description = text
    model.model_rebuild(force=True)


def _rules(names) -> str:  # noqa: ANN001
    from gosplan.server import explain

    return " ".join(f"`{n}`: {explain.rule(n)}" for n in names)


_NONCE = "a unique key for this request, instead of the Idempotency-Key header; a replay of it is refused (409)"


def _describe_models() -> None:
    from gosplan.democracy import rounds
    from gosplan.server import explain

    _describe(CouncilIn, name="the council's name, unique", kind="`workers` (a workplace), `consumers` (a neighbourhood or "
              "household council) or `region`", weight="the council's weight in aggregation and votes (> 0; e.g. its "
              "members or population)", recall_threshold="the share of the council's members whose signatures recall "
              "its delegate (0 to 1)", seats="how many delegates the council elects", nonce=_NONCE)
    _describe(MemberIn, name="the member's name, unique within the council", nonce=_NONCE)
    _describe(PlannerIn, label="the planner's name (a person or an office)", nonce=_NONCE)
    _describe(RenameIn, name="the new name", nonce=_NONCE)
    _describe(ProjectIn, key="the project's id, unique within the round", name="the project's name as voters see it",
              cost="what the project costs, in the budget's currency (> 0, at most the budget)",
              category="a category (e.g. education, green space), for the spending by category",
              district="the district it serves, for the spending by district")
    kinds = "; ".join(f"`{k}`: {t}" for k, t in explain.KINDS.items())
    _describe(RoundIn, kind=f"the kind of round. {kinds}", title="the round's title as the pages show it",
              rule="how the round decides. Plan rounds: " + _rules(rounds.PLAN_RULES) + " Budget rounds: "
              + _rules(rounds.BUDGET_RULES) + " Elections: " + _rules(rounds.ELECTION_RULES),
              economy=f"plan rounds: the shipped economy to plan (default `{rounds.DEFAULT_ECONOMY}`; GET "
              "/economies/{name}/products shows its products)",
              objective="plan rounds: what the plan uses as little of as it can: `labour`, `factor:<id>` (a factor of "
              "the economy), `basket`, `harmony`, `floors`; default: least labour",
              council_id="the council the round is for (required for elections; budget rounds may name one)",
              budget="budget rounds: the money to spend (> 0)",
              ballot="budget rounds: `approval` (tick projects), `cumulative` (spread points) or `ordinal` (rank them)",
              min_length="budget rounds: the fewest projects a ballot must name",
              max_length="budget rounds: the most projects a ballot may name",
              max_sum_points="budget rounds with cumulative ballots: the most points a ballot may give",
              projects="budget rounds: the projects to vote on",
              candidates="elections: member ids standing (members may also stand themselves while it is open)",
              seats="elections: seats to fill (default: the council's seats)",
              quorum="elections: the share of the council's members whose ballots the result needs (default 0.5)",
              nonce=_NONCE)
    _describe(ProposalIn, council_id="the council the delegate proposes for",
              basket="product id -> amount of final demand, in the product's unit",
              changes="product id -> change in per cent against the product's base-year amount (+5 is 5 % more)",
              groups="group name (GET /economies/{name}/products) -> change in per cent applied to every product of the "
              "group against its base-year amount",
              priorities="product id -> priority (a weight >= 0 in the weighted objectives; 1 is normal)",
              group_priorities="group name -> priority of every product of the group (a product's own priority wins)",
              limits="factor id -> the most of the factor the council would have the plan use",
              comment="why the council proposes this", nonce=_NONCE)
    _describe(VoteIn, council_id="the council the delegate votes for",
              approve="approval rule: the proposal ids the council approves",
              ranking="ranked rules (instant-runoff, ranked-choice, schulze): proposal ids, first choice first",
              nonce=_NONCE)
    _describe(BallotIn, approve="approval ballots and PAV or sequential Phragmén elections: project ids or candidates' "
              "member ids approved", ranking="ordinal ballots and STV elections: project ids or member ids, first choice "
              "first", points="cumulative ballots: project id -> points", nonce=_NONCE)
    _describe(EmptyIn, nonce=_NONCE)


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


@router.get("/planners", tags=["administrator"])
def planners(svc: Svc):
    """The planners (their token ids, names and whether they are active); tokens themselves are never shown again."""
    return svc.planners()


@router.post("/councils/{council_id}/rename", tags=["administrator"])
def rename_council(council_id: PathId, body: RenameIn, who: Who, svc: Svc, key: IdemKey = None):
    return svc.rename_council(who, council_id, body.name, _key(key, body))


@router.post("/councils/{council_id}/retire", tags=["administrator"])
def retire_council(council_id: PathId, who: Who, svc: Svc, key: IdemKey = None, body: EmptyIn | None = None):
    """Retire a council: its members' tokens stop working and its mandates end; its record and history stay."""
    return svc.retire_council(who, council_id, _key(key, body))


@router.post("/members/{member_id}/rename", tags=["administrator"])
def rename_member(member_id: PathId, body: RenameIn, who: Who, svc: Svc, key: IdemKey = None):
    return svc.rename_member(who, member_id, body.name, _key(key, body))


@router.post("/members/{member_id}/retire", tags=["administrator"])
def retire_member(member_id: PathId, who: Who, svc: Svc, key: IdemKey = None, body: EmptyIn | None = None):
    """Retire a member: its tokens (and a delegate token) stop working and a mandate it holds ends."""
    return svc.retire_member(who, member_id, _key(key, body))


@router.post("/planners/{token_id}/rename", tags=["administrator"])
def rename_planner(token_id: PathId, body: RenameIn, who: Who, svc: Svc, key: IdemKey = None):
    return svc.rename_planner(who, token_id, body.name, _key(key, body))


@router.post("/planners/{token_id}/retire", tags=["administrator"])
def retire_planner(token_id: PathId, who: Who, svc: Svc, key: IdemKey = None, body: EmptyIn | None = None):
    """Retire a planner: its token and page sessions stop working."""
    return svc.retire_planner(who, token_id, _key(key, body))


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
    """Submit the council's proposal: amounts, or per cent changes against the base year, per
    product or per group, with priorities and a comment; stored as amounts per product."""
    from gosplan.server.proposals import stored_proposal

    key = _key(key, body)
    r = svc.round(round_id)
    data = stored_proposal((r.get("params") or {}).get("economy"), round_id, r["kind"], _dump(body))
    return svc.propose(who, round_id, data, key)


@router.get("/economies/{name}/products", tags=["public"])
def economy_products(name: Annotated[str, Path(max_length=100)]):
    """The products a council proposes for in a plan round on economy ``name``: id, name, unit,
    group and base-year amount (the economy's total final demand), and what one unit of each
    costs in labour and in every limited factor, with the supply each is measured against."""
    from gosplan import datasets
    from gosplan.democracy import costing

    shipped = datasets.names("economy")
    if name not in shipped:  # a shipped name only: never a path on the server's disk
        raise NotFound(f"no shipped economy is named {name!r}; the service plans {', '.join(shipped)}")
    cat = costing.catalogue(name)
    return {"economy": name, "base_year": costing.BASE_YEAR, "groups": cat.groups,
            "products": [{"id": str(p), "name": row["name"], "unit": row["unit"], "group": row["group"],
                          "base": float(row["base"])} for p, row in cat.products.iterrows()],
            "factors": [{"id": str(f), "label": row["label"], "unit": row["unit"], "supply": float(row["supply"]),
                         "against": row["against"], "per_unit": [float(v) for v in cat.costs.loc[f]]}
                        for f, row in cat.factors.iterrows()]}


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


_describe_models()
