"""The planning board's routes beyond opening and closing: repairing a plan round, and participatory rounds.

A plan round whose compute failed is amended (economy, objective) or reopened for more
proposals, then computed again. A participatory round (Hahnel 2021, ch. 9) is opened on
a set of councils, publishes indicative prices, takes each council's proposal at those
prices and moves the prices by the published rule until the proposals balance
(:mod:`gosplan.server.services.participatory`). JSON routes under ``/rounds`` and
``/participatory``; pages under ``/ui/board``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import Field
from starlette.concurrency import run_in_threadpool

from gosplan.democracy.rounds import MAX_QUANTITY
from gosplan.server.api import _NONCE, EmptyIn, Id, IdemKey, Name, Nonce, PathId, Quantity, Svc, Who, _describe, _dump, _In, _key
from gosplan.server.services import Refusal

router = APIRouter()
pages = APIRouter(prefix="/ui/board", include_in_schema=False)


# -- plan rounds: amend and reopen ----------------------------------------------------
class AmendIn(_In):
    """A plan round's new economy (a shipped one) or objective (``labour``, ``factor:<id>``, ``floors``)."""

    economy: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    objective: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    nonce: Nonce = None


@router.post("/rounds/{round_id}/amend", tags=["planner"])
def amend(round_id: PathId, body: AmendIn, who: Who, svc: Svc, key: IdemKey = None):
    """Change a plan round's economy or objective until its plan is computed (after a failed compute)."""
    return svc.amend_round(who, round_id, _dump(body), _key(key, body))


@router.post("/rounds/{round_id}/reopen", tags=["planner"])
def reopen(round_id: PathId, who: Who, svc: Svc, key: IdemKey = None, body: EmptyIn | None = None):
    """Open a closed plan round whose plan failed (or was not computed) for more proposals and votes."""
    return svc.reopen_round(who, round_id, _key(key, body))


# -- participatory rounds -----------------------------------------------------------
GoodId = Annotated[str, Field(min_length=1, max_length=100)]


class ParticipatoryIn(_In):
    """A participatory round over the councils of a pequod experiment (``dep1ex01``, shipped).

    ``councils`` are the service's councils that answer; the experiment's worker and consumer
    councils are shared among them in order (the first ``n / k`` to the first council ...).
    """

    title: Annotated[str, Field(min_length=1, max_length=300)]
    source: Name = "dep1ex01"
    councils: Annotated[list[Id], Field(min_length=1, max_length=1000)]
    rule: Annotated[str, Field(min_length=1, max_length=40)] = "pequod"
    initial_price: Annotated[float, Field(gt=0, le=MAX_QUANTITY, allow_inf_nan=False)] = 700.0
    threshold: Annotated[float, Field(gt=0, lt=2)] = 0.03
    max_iterations: Annotated[int, Field(ge=1, le=1000)] = 200
    nonce: Nonce = None


class WorkerAnswer(_In):
    """A worker council's output of its product (``good``, optional: its technique names it) and the inputs it asks for."""

    good: GoodId | None = None
    output: Quantity
    inputs: Annotated[dict[GoodId, Quantity], Field(max_length=1000)]


class AnswerIn(_In):
    """A council's proposal at the prices of ``iteration``: each of its worker councils' output
    and inputs, each of its consumer councils' basket (good id -> quantity)."""

    council_id: Id
    iteration: Annotated[int, Field(ge=1)]
    workers: Annotated[dict[Name, WorkerAnswer], Field(max_length=100_000)] = {}
    consumers: Annotated[dict[Name, Annotated[dict[GoodId, Quantity], Field(max_length=1000)]],
                         Field(max_length=100_000)] = {}
    nonce: Nonce = None


_describe(AmendIn, economy="the shipped economy to plan instead", objective="what the plan uses as little of as it can "
          "instead: `labour`, `factor:<id>` or `floors`", nonce=_NONCE)
_describe(ParticipatoryIn, title="the round's title as the pages show it",
          source="the shipped pequod experiment whose councils' techniques and preferences the round uses",
          councils="the service's councils that answer, in order; the experiment's councils are shared among them",
          rule="how the board moves prices: `pequod` (the experiment's own rule) or `book-text` (the rule as Hahnel "
          "states it in the book)", initial_price="every good's first indicative price",
          threshold="the largest relative excess demand or supply at which the proposals count as feasible",
          max_iterations="the most iterations before the round stops unbalanced", nonce=_NONCE)
_describe(WorkerAnswer, good="the good the worker council makes (optional: its technique names it)",
          output="how much of it the council offers to make", inputs="good id -> how much of it the council asks for")
_describe(AnswerIn, council_id="the service council answering", iteration="the iteration whose prices the answer is at",
          workers="the council's worker councils (experiment ids) -> their proposals",
          consumers="the council's consumer councils (experiment ids) -> their baskets (good id -> quantity)",
          nonce=_NONCE)


@router.post("/participatory", status_code=201, tags=["planner"])
def open_participatory(body: ParticipatoryIn, who: Who, svc: Svc, key: IdemKey = None):
    """Open a participatory round: the board publishes the first indicative prices."""
    return svc.open_participatory(who, _dump(body), _key(key, body))


@router.get("/participatory/{round_id}", tags=["public"])
def participatory(round_id: PathId, svc: Svc):
    """The round's iteration, its indicative prices, who has answered, and every iteration so far."""
    return svc.participatory(round_id)


@router.get("/participatory/{round_id}/councils/{council_id}", tags=["public"])
def participatory_council(round_id: PathId, council_id: PathId, svc: Svc):
    """The worker and consumer councils a council answers for, with their techniques and preferences."""
    return svc.participatory_council(round_id, council_id)


@router.post("/participatory/{round_id}/proposals", status_code=201, tags=["delegate"])
def answer(round_id: PathId, body: AnswerIn, who: Who, svc: Svc, key: IdemKey = None):
    """A council's proposal at the current prices; the last one of an iteration moves the prices."""
    data = body.model_dump()
    data.pop("nonce", None)
    return svc.answer_participatory(who, round_id, data, _key(key, body))


@router.post("/participatory/{round_id}/update", tags=["planner"])
def update(round_id: PathId, who: Who, svc: Svc, key: IdemKey = None, body: EmptyIn | None = None):
    """Close the iteration without waiting: a council that has not answered counts with its last proposal."""
    return svc.update_prices(who, round_id, _key(key, body))


# -- pages ----------------------------------------------------------------------------
def _pages():
    from gosplan.server import pages as p

    return p


@pages.post("/rounds/{round_id}/{act}")
async def plan_round_act(request: Request, round_id: int, act: str):
    """The page forms of :func:`amend` and :func:`reopen`."""
    p = _pages()
    form = await request.form()
    svc = p._svc(request)
    if act == "amend":
        data = {k: str(form.get(k) or "").strip() or None for k in ("economy", "objective")}
        return await p._act(request, svc.amend_round, p._who(request), round_id, data, p._nonce(request, form),
                            to=f"/ui/rounds/{round_id}")
    if act == "reopen":
        return await p._act(request, svc.reopen_round, p._who(request), round_id, p._nonce(request, form),
                            to=f"/ui/rounds/{round_id}")
    return p._error(request, Refusal(f"no such action {act!r}", status=404))


def convergence_chart(state: dict) -> str:
    """Excess demand per iteration as inline SVG: above, the largest relative imbalance
    ``|2 (S - D)| / (S + D)`` against the round's threshold; below, the mean excess demand
    ``D - S`` of each kind of good (private, intermediate, public, nature, labour)."""
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    from gosplan.server.charts import _svg

    its = state["iterations"]
    x = [u["iteration"] for u in its]
    fig = Figure(figsize=(7.0, 5.0))
    top, bottom = fig.subplots(2, 1, sharex=True)
    top.semilogy(x, [max(u["max_imbalance"], 1e-12) for u in its], "k-o", ms=3, label="largest imbalance")
    top.axhline(state["params"]["threshold"], color="grey", ls="--", label=f"threshold {state['params']['threshold']:.0%}")
    top.set_ylabel("relative imbalance")
    top.set_title("Convergence: excess demand per iteration")
    top.legend(fontsize=8)
    goods = state["params"]["goods"]
    for kind in dict.fromkeys(g.rsplit("-", 1)[0] for g in goods):
        mine = [g for g in goods if g.rsplit("-", 1)[0] == kind]
        bottom.plot(x, [sum(u["excess_demand"][g] for g in mine) / len(mine) for u in its], lw=1.2, marker=".", label=kind)
    bottom.axhline(0.0, color="grey", lw=0.8)
    bottom.set_ylabel("mean excess demand D - S")
    bottom.set_xlabel("iteration")
    bottom.xaxis.set_major_locator(MaxNLocator(integer=True))
    bottom.legend(fontsize=8, ncol=5, loc="lower right")
    return _svg(fig)


@pages.get("/participatory", response_class=HTMLResponse)
async def open_participatory_form(request: Request):
    """The planner's form: the councils that answer, the rule, the first price, threshold and limit."""
    from gosplan.democracy.participatory import RULES
    from gosplan.democracy.rounds import PARTICIPATORY_SOURCES

    p = _pages()
    councils = await run_in_threadpool(p._svc(request).councils)
    return p._render(request, "participatory.html", r=None, councils=councils, rules=list(RULES),
                     sources=PARTICIPATORY_SOURCES)


@pages.post("/participatory")
async def open_participatory_page(request: Request) -> Response:
    from fastapi.responses import RedirectResponse

    p = _pages()
    form = await request.form()
    try:
        data = {"title": str(form.get("title") or "").strip() or "participatory round",
                "source": str(form.get("source") or "dep1ex01"), "rule": str(form.get("rule") or "pequod"),
                "councils": [p._whole(c, "council") for c in form.getlist("council")],
                "initial_price": p._float(form, "initial_price") or 700.0,
                "threshold": (p._float(form, "threshold_percent") or 3.0) / 100,
                "max_iterations": p._whole(form.get("max_iterations") or 200, "max_iterations")}
        if not data["councils"]:
            raise Refusal("council: tick the councils that answer the board's prices", status=422)
        body = ParticipatoryIn.model_validate(data)
        out = await run_in_threadpool(p._svc(request).open_participatory, p._who(request), _dump(body),
                                      p._nonce(request, form))
    except ValueError as exc:  # pydantic's refusal of a field
        return p._error(request, Refusal(f"the round's settings: {str(exc)[:300]}", status=422))
    except Refusal as exc:
        return p._error(request, exc)
    return RedirectResponse(f"/ui/board/participatory/{out['id']}", status_code=303)


@pages.get("/participatory/{round_id}", response_class=HTMLResponse)
async def participatory_page(request: Request, round_id: int):
    p = _pages()
    svc = p._svc(request)
    try:
        state = await run_in_threadpool(svc.participatory, round_id)
    except Refusal as exc:
        return p._error(request, exc)
    chart = await run_in_threadpool(convergence_chart, state) if state["iterations"] else None
    return p._render(request, "participatory.html", r=state, chart=chart)


@pages.post("/participatory/{round_id}/{act}")
async def participatory_act(request: Request, round_id: int, act: str) -> Response:
    """A delegate answers with the proposal its councils' techniques and preferences give at
    the current prices (or with one pasted as JSON); the planner closes an iteration."""
    import json

    p = _pages()
    form = await request.form()
    svc = p._svc(request)
    who = p._who(request)
    back = f"/ui/board/participatory/{round_id}"
    if act == "update":
        return await p._act(request, svc.update_prices, who, round_id, p._nonce(request, form), to=back)
    if act != "answer":
        return p._error(request, Refusal(f"no such action {act!r}", status=404))
    try:
        council = p._whole(form.get("council_id") or (who.council_id if who else 0), "council_id")
        text = str(form.get("proposal") or "").strip()
        if text:
            try:
                data = AnswerIn.model_validate({**json.loads(text), "council_id": council}).model_dump()
            except ValueError as exc:
                raise Refusal(f"proposal: not a proposal in JSON ({str(exc)[:300]})", status=422) from None
            data.pop("nonce", None)
        else:
            data = await run_in_threadpool(svc.modelled_answer, round_id, council)
    except Refusal as exc:
        return p._error(request, exc)
    return await p._act(request, svc.answer_participatory, who, round_id, data, p._nonce(request, form), to=back)


router.include_router(pages)
