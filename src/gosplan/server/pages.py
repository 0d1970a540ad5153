"""Server-rendered pages (Jinja2, plain HTML forms, no script build step).

Every page is a view over :mod:`services`: a delegate proposes and votes, a planner
opens, closes, computes and publishes rounds, a member votes on projects and
delegates and signs recall petitions, and everyone sees published results with
their charts. Logging in with a token opens a session: a new token of the same
role, expiring after :data:`~gosplan.server.auth.SESSION_HOURS` hours, in an
HTTP-only, ``SameSite=Strict`` cookie; logging out revokes it. Every form carries a
fresh nonce tagged with the session (:func:`~gosplan.server.auth.form_tag`), so a
form made elsewhere is refused (403) and a resubmitted one is refused (409) like a
replayed API request; cross-origin posts are refused before they get here
(:class:`~gosplan.server.app.Guard`). Success redirects (303) to the page that
shows the change.
"""

from __future__ import annotations

import hmac
import os
import uuid

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from gosplan.server.auth import Bearer, form_tag, resolve
from gosplan.server.services import Forbidden, Invalid, Refusal, Service

router = APIRouter(prefix="/ui", include_in_schema=False)
COOKIE = "gosplan_token"


def _templates():
    from fastapi.templating import Jinja2Templates

    global _TEMPLATES
    if _TEMPLATES is None:
        _TEMPLATES = Jinja2Templates(directory=os.path.join(os.path.dirname(__file__), "templates"))
    return _TEMPLATES


_TEMPLATES = None


def _who(request: Request):
    text = request.cookies.get(COOKIE)
    if not text:
        return None
    with request.app.state.service.store.read() as s:
        return resolve(s, text)


def _render(request: Request, name: str, status: int = 200, **ctx) -> Response:
    ctx.setdefault("who", _who(request))
    session = request.cookies.get(COOKIE)
    ctx["nonce"] = lambda: _new_nonce(session)
    return _templates().TemplateResponse(request, name, ctx, status_code=status)


def _new_nonce(session: str | None) -> str:
    n = uuid.uuid4().hex
    return f"{n}.{form_tag(session, n)}" if session else n


def _nonce(request: Request, form) -> str:  # noqa: ANN001
    """The form's nonce, if the session that posts it is the one it was issued to (CSRF)."""
    raw = str(form.get("nonce") or "")
    session = request.cookies.get(COOKIE)
    if not session:
        return raw  # no session: the act is refused for want of a token
    n, _, tag = raw.rpartition(".")
    if not n or not hmac.compare_digest(tag, form_tag(session, n)):
        raise Forbidden("this form was not issued to your session (a page elsewhere may be trying to act for "
                        "you); reload the page and submit it again")
    return raw


def _error(request: Request, exc: Refusal) -> Response:
    return _render(request, "error.html", status=exc.status, status_code=exc.status, message=str(exc))


async def _act(request: Request, fn, *args, to: str) -> Response:
    """Run a service act in a worker thread; redirect on success, render the refusal otherwise."""
    try:
        await run_in_threadpool(fn, *args)
    except Refusal as exc:
        return _error(request, exc)
    return RedirectResponse(to, status_code=303)


def _svc(request: Request) -> Service:
    return request.app.state.service


@router.get("", response_class=HTMLResponse)
@router.get("/", response_class=HTMLResponse)
async def index(request: Request):
    svc = _svc(request)
    return _render(request, "index.html", rounds=await run_in_threadpool(svc.rounds),
                   councils=await run_in_threadpool(svc.councils), mandates=await run_in_threadpool(svc.mandates))


@router.get("/login", response_class=HTMLResponse)
async def login_form(request: Request):
    return _render(request, "login.html")


@router.post("/login")
async def login(request: Request):
    form = await request.form()
    text = str(form.get("token") or "").strip()
    address = request.client.host if request.client else ""
    try:
        session, _ = await run_in_threadpool(_svc(request).open_session, text, address)
    except Refusal as exc:
        return _render(request, "login.html", status=exc.status, message=str(exc), who=None)
    resp = RedirectResponse("/ui", status_code=303)
    _set_session(resp, session)
    return resp


def _set_session(resp: Response, session: str) -> None:
    from gosplan.server.auth import SESSION_HOURS

    resp.set_cookie(COOKIE, session, httponly=True, samesite="strict", max_age=SESSION_HOURS * 3600)


@router.post("/logout")
async def logout(request: Request):
    """End the session: its token is revoked, not only the cookie deleted."""
    form = await request.form()
    session = request.cookies.get(COOKIE)
    if session:
        nonce = _nonce(request, form)
        try:
            await run_in_threadpool(_svc(request).revoke, Bearer(session), None, nonce)
        except Refusal:
            pass  # an expired or revoked session: nothing left to end
    resp = RedirectResponse("/ui", status_code=303)
    resp.delete_cookie(COOKIE)
    return resp


@router.get("/rounds/{round_id}", response_class=HTMLResponse)
async def round_page(request: Request, round_id: int):
    from gosplan.server import charts

    svc = _svc(request)
    try:
        r = await run_in_threadpool(svc.round, round_id)
    except Refusal as exc:
        return _error(request, exc)
    figures = []
    if r["result"] is not None:
        if r["kind"] == "plan":
            figures = await run_in_threadpool(charts.plan_charts, r["result"])
        elif r["kind"] == "budget":
            figures = await run_in_threadpool(charts.budget_charts, r["result"], r["projects"])
        elif r["kind"] == "election":
            names = {m["id"]: m["name"] for m in svc.members(r["council_id"])}
            figures = await run_in_threadpool(charts.election_charts, r["result"], names)
    mandates = await run_in_threadpool(svc.mandates, r["council_id"]) if r["kind"] == "election" else []
    names = {m["id"]: m["name"] for m in svc.members(r["council_id"])} if r["council_id"] else {}
    return _render(request, "round.html", r=r, figures=figures, mandates=mandates, names=names)


def _float(form, name: str) -> float | None:
    raw = str(form.get(name) or "").strip()
    if not raw:
        return None
    try:
        return float(raw)
    except ValueError:
        raise Invalid(f"{name}: {raw!r} is not a number") from None


@router.post("/rounds/{round_id}/proposal")
async def propose(request: Request, round_id: int):
    form = await request.form()
    who = _who(request)
    try:
        basket = {}
        for k in form:
            if k.startswith("basket:"):
                q = _float(form, k)
                if q is not None:
                    basket[k.split(":", 1)[1]] = q
        data = {"council_id": _whole(form.get("council_id") or (who.council_id if who else 0), "council_id"),
                "basket": basket}
    except Refusal as exc:
        return _error(request, exc)
    return await _act(request, _svc(request).propose, who, round_id, data, _nonce(request, form),
                      to=f"/ui/rounds/{round_id}")


def _whole(raw, what: str) -> int:
    try:
        return int(str(raw).strip())
    except ValueError:
        raise Invalid(f"{what}: {str(raw)!r} is not a whole number") from None


def _ranking(form) -> list[str]:
    """Ids ordered by the ranks typed into ``rank:ID`` fields (1 = first choice); blanks are unranked."""
    ranked = sorted((_whole(form[k], f"rank of {k.split(':', 1)[1]}"), k.split(":", 1)[1])
                    for k in form if k.startswith("rank:") and str(form[k]).strip())
    return [i for _, i in ranked]


@router.post("/rounds/{round_id}/vote")
async def vote(request: Request, round_id: int):
    form = await request.form()
    who = _who(request)
    try:
        data: dict = {"council_id": _whole(form.get("council_id") or (who.council_id if who else 0), "council_id")}
        ranking = _ranking(form)
        if ranking:
            data["ranking"] = [_whole(i, "proposal") for i in ranking]
        else:
            data["approve"] = [_whole(v, "proposal") for v in form.getlist("approve")]
    except Refusal as exc:
        return _error(request, exc)
    return await _act(request, _svc(request).vote, who, round_id, data, _nonce(request, form),
                      to=f"/ui/rounds/{round_id}")


@router.post("/rounds/{round_id}/ballot")
async def ballot(request: Request, round_id: int):
    form = await request.form()
    data: dict = {}
    try:
        if any(k.startswith("points:") for k in form):
            data["points"] = {k.split(":", 1)[1]: _whole(form[k], f"points of {k.split(':', 1)[1]}")
                              for k in form if k.startswith("points:") and str(form[k]).strip() not in ("", "0")}
        elif any(k.startswith("rank:") for k in form):
            data["ranking"] = _ranking(form)
        else:
            data["approve"] = [str(v) for v in form.getlist("approve")]
    except Refusal as exc:
        return _error(request, exc)
    return await _act(request, _svc(request).ballot, _who(request), round_id, data, _nonce(request, form),
                      to=f"/ui/rounds/{round_id}")


@router.post("/rounds/{round_id}/{act}")
async def planner_act(request: Request, round_id: int, act: str):
    form = await request.form()
    svc = _svc(request)
    fn = {"close": svc.close_round, "compute": svc.compute_plan, "publish": svc.publish, "nominate": svc.nominate}.get(act)
    if fn is None:
        return _error(request, Refusal(f"no such action {act!r}", status=404))
    return await _act(request, fn, _who(request), round_id, _nonce(request, form), to=f"/ui/rounds/{round_id}")


@router.post("/mandates/{mandate_id}/petition")
async def petition(request: Request, mandate_id: int):
    form = await request.form()
    back = str(form.get("back") or "/ui")
    return await _act(request, _svc(request).sign_recall, _who(request), mandate_id, _nonce(request, form),
                      to=back if back.startswith("/ui") else "/ui")


@router.post("/delegate-token")
async def delegate_token(request: Request):
    """Issue the elected member's delegate token and switch this session to it."""
    form = await request.form()
    try:
        out = await run_in_threadpool(_svc(request).delegate_token, _who(request), _nonce(request, form))
    except Refusal as exc:
        return _error(request, exc)
    session, _ = await run_in_threadpool(_svc(request).open_session, out["token"])
    resp = _render(request, "token.html", token=out["token"], who=None, mandate=out["mandate_id"])
    _set_session(resp, session)
    return resp


@router.get("/planner", response_class=HTMLResponse)
async def planner_page(request: Request):
    from gosplan.server import _domain

    return _render(request, "planner.html", councils=await run_in_threadpool(_svc(request).councils),
                   plan_rules=_domain.PLAN_RULES, budget_rules=_domain.BUDGET_RULES, election_rules=_domain.ELECTION_RULES,
                   economy=_domain.DEFAULT_ECONOMY)


@router.post("/rounds")
async def open_round(request: Request):
    form = await request.form()
    try:
        kind = str(form.get("kind") or "")
        data: dict = {"kind": kind, "title": str(form.get("title") or "").strip() or f"{kind} round",
                      "rule": str(form.get("rule") or "")}
        if kind == "plan":
            data["economy"] = str(form.get("economy") or "") or None
        elif kind == "budget":
            data["budget"] = _float(form, "budget")
            if not data["budget"] or data["budget"] <= 0:
                raise Invalid("budget: give a budget > 0")
            data["ballot"] = str(form.get("ballot") or "approval")
            data["projects"] = _projects(str(form.get("projects") or ""))
            for k in ("min_length", "max_length", "max_sum_points"):
                v = _float(form, k)
                data[k] = int(v) if v is not None else None
        elif kind == "election":
            data["council_id"] = int(form.get("council_id") or 0)
            data["seats"] = int(form.get("seats") or 1)
            data["candidates"] = [int(c) for c in str(form.get("candidates") or "").replace(",", " ").split()]
        else:
            raise Invalid(f"kind {kind!r}: choose plan, budget or election")
    except (Refusal, ValueError) as exc:
        return _error(request, exc if isinstance(exc, Refusal) else Invalid(str(exc)))
    try:
        out = await run_in_threadpool(_svc(request).open_round, _who(request), data, _nonce(request, form))
    except Refusal as exc:
        return _error(request, exc)
    return RedirectResponse(f"/ui/rounds/{out['id']}", status_code=303)


def _projects(text: str) -> list[dict]:
    """Projects from lines ``id; name; cost; district; category``."""
    out = []
    for i, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        parts = [p.strip() for p in line.split(";")]
        if len(parts) < 3:
            raise Invalid(f"projects line {i}: write 'id; name; cost[; district[; category]]'")
        try:
            cost = float(parts[2])
        except ValueError:
            raise Invalid(f"projects line {i}: cost {parts[2]!r} is not a number") from None
        if not cost > 0:
            raise Invalid(f"projects line {i}: cost must be > 0")
        out.append({"key": parts[0], "name": parts[1], "cost": cost,
                    "district": parts[3] if len(parts) > 3 else "", "category": parts[4] if len(parts) > 4 else ""})
    return out
