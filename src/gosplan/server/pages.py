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

from gosplan.server import explain
from gosplan.server.auth import Bearer, form_tag, resolve
from gosplan.server.services import Forbidden, Invalid, Refusal, Service

router = APIRouter(prefix="/ui", include_in_schema=False)
COOKIE = "gosplan_token"


def _templates():
    from fastapi.templating import Jinja2Templates

    global _TEMPLATES
    if _TEMPLATES is None:
        from gosplan.democracy import costing
        from gosplan.democracy.rounds import VOTING_RULES
        from gosplan.server import explain

        _TEMPLATES = Jinja2Templates(directory=os.path.join(os.path.dirname(__file__), "templates"))
        env = _TEMPLATES.env
        env.filters["amount"] = lambda v: f"{float(v):,.1f}"  # amounts in their unit: a tenth is enough
        env.filters["valuation"] = lambda v: f"{float(v):.4g}"
        env.filters["quantity"] = lambda v, unit: costing.format_quantity(float(v), unit)
        env.globals.update(article=explain.article, rule_text=explain.rule, kinds=explain.KINDS,
                           statuses=explain.STATUSES, open_text=explain.OPEN, ties=explain.TIES, voting_rules=VOTING_RULES,
                           role_names={"admin": "administrator"})
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
    who = ctx["who"]
    if who is not None and who.council_id:
        ctx.setdefault("who_council", next((c["name"] for c in _svc(request).councils() if c["id"] == who.council_id),
                                           f"council {who.council_id}"))
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
    return error_page(request, exc.status, str(exc))


#: What each refusal means, said on its error page.
_STATUS_TEXT = {400: "bad request", 401: "you need to log in", 403: "not allowed", 404: "not found",
                409: "not now", 413: "too large", 422: "cannot be used", 428: "form expired", 429: "too many tries"}


def error_page(request: Request, status: int, message: str) -> Response:
    """A refusal as a page: what was refused and why, with the way back."""
    return _render(request, "error.html", status=status, status_code=status,
                   status_text=_STATUS_TEXT.get(status, "refused"), message=message)


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
    councils = await run_in_threadpool(svc.councils)
    return _render(request, "index.html", rounds=await run_in_threadpool(svc.rounds), councils=councils,
                   council_names={c["id"]: c["name"] for c in councils}, mandates=await run_in_threadpool(svc.mandates))


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
    return await _round_page(request, round_id)


async def _round_page(request: Request, round_id: int, *, form=None, message: str = "",  # noqa: ANN001
                      status: int = 200) -> Response:
    """The round's page; ``form`` is a proposal form submitted to be costed (or refused), shown again."""
    from gosplan.server import charts, proposals

    svc = _svc(request)
    try:
        r = await run_in_threadpool(svc.round, round_id)
    except Refusal as exc:
        return _error(request, exc)
    who = _who(request)
    figures = []
    if r["result"] is not None:
        if r["kind"] == "plan":
            figures = await run_in_threadpool(charts.plan_charts, r["result"], 12, r.get("product_names") or {},
                                              _one_unit(r["params"]["economy"]))
        elif r["kind"] == "budget":
            figures = await run_in_threadpool(charts.budget_charts, r["result"], r["projects"])
        elif r["kind"] == "election":
            names = {m["id"]: m["name"] for m in svc.members(r["council_id"])}
            figures = await run_in_threadpool(charts.election_charts, r["result"], names)
    mandates = await run_in_threadpool(svc.mandates, r["council_id"]) if r["kind"] == "election" else []
    names = {m["id"]: m["name"] for m in svc.members(r["council_id"])} if r["council_id"] else {}
    councils = {c["id"]: c["name"] for c in await run_in_threadpool(svc.councils)}
    proposal_form = None
    if (r["kind"] == "plan" and r["status"] == "open" and who is not None and who.role == "delegate"
            and not any(pr["council_id"] == who.council_id for pr in r["proposals"])):
        proposal_form = await run_in_threadpool(proposals.form_view, r["params"]["economy"], form)
        message = message or proposal_form.error
        if message and status == 200:
            status = 422
    ctx = await run_in_threadpool(_plan_context, svc, r, councils, who) if r["kind"] == "plan" else {}
    figures = ctx.pop("group_figures", []) + figures
    voter = None if who is None else (f"council:{who.council_id}" if who.role == "delegate" else f"member:{who.member_id}")
    voted = voter in r["voters"] if voter else False
    if voted and r["kind"] == "plan":
        voted = ctx.get("own_vote") or True
    return _render(request, "round.html", status=status, r=r, figures=figures, mandates=mandates, names=names,
                   councils=councils, form=proposal_form, message=message, who=who, voted=voted,
                   comment=str((form or {}).get("comment") or ""), priorities=proposals.PRIORITIES, **ctx)


def _one_unit(economy: str) -> str:
    """The unit every product of ``economy`` is measured in, or "" when they differ."""
    from gosplan.democracy import costing

    units = costing.catalogue(economy).products["unit"].unique()
    return str(units[0]) if len(units) == 1 else ""


def _objective_unit(economy: str, spec: str | None) -> str:
    """The unit of a plan's objective value: the factor's when it minimises one factor."""
    from gosplan.server import _domain

    eco = _domain.economy(economy)
    spec = spec or _domain.default_objective(economy)
    if spec.startswith("factor:") and spec[7:] in eco.factors.index:
        return str(eco.factors.loc[spec[7:], "unit"])
    if spec == "labour":
        from gosplan.analysis import labour_factors

        units = {str(eco.factors.loc[f, "unit"]) for f in labour_factors(eco)}
        return units.pop() if len(units) == 1 else ""
    return ""


def _plan_context(svc: Service, r: dict, councils: dict, who) -> dict:  # noqa: ANN001
    """What a plan round's page shows beside the round: each proposal summed up and costed,
    the votes by council name, and the published plan grouped by section with names and units."""
    from gosplan.democracy import costing
    from gosplan.democracy.rounds import VOTING_RULES

    cat = costing.catalogue(r["params"]["economy"])
    info = cat.products
    unit_of, group_of = info["unit"].to_dict(), info["group"].to_dict()
    labels = {pr["id"]: f"proposal {pr['id']} of {councils.get(pr['council_id'], pr['council_id'])}" for pr in r["proposals"]}
    summaries = {}
    for pr in r["proposals"]:
        basket = pr.get("basket") or {}
        units = {unit_of[k] for k in basket if k in unit_of}
        total = sum(basket.values())
        pri = pr.get("priorities") or {}
        levels = {}
        for k, v in pri.items():
            levels.setdefault(v, []).append(k)
        summaries[pr["id"]] = {
            "products": len(basket),
            "total": costing.format_quantity(total, units.pop()) if len(units) == 1 else f"{total:,.1f} in their units",
            "costs": [c.sentence() for c in cat.cost(basket)],
            "priorities": "; ".join(f"{len(ks)} product{'' if len(ks) == 1 else 's'} at {v:g}" for v, ks in sorted(levels.items())
                                    if v != 1.0),
            "limits": ", ".join(f"{f} at most {q:,.1f}" for f, q in (pr.get("limits") or {}).items()),
        }
    votes, support = [], {}
    if r["rule"] in VOTING_RULES:
        for v in svc.votes(r["id"]):
            council = int(str(v["voter"]).split(":")[1])
            chosen = v.get("approve") or v.get("ranking") or []
            votes.append({"council": councils.get(council, council), "council_id": council,
                          "choices": ", ".join(labels.get(c, f"proposal {c}") for c in chosen)})
            for rank, c in enumerate(chosen, 1):
                rank_text = "" if r["rule"] == "approval" else f" (rank {rank})"
                support.setdefault(c, []).append(f"{councils.get(council, council)}{rank_text}")
        support = {k: "; ".join(v) for k, v in support.items()}
    own = [pr["id"] for pr in r["proposals"] if who is not None and pr["council_id"] == who.council_id]
    own_vote = next((v["choices"] for v in votes if who is not None and v["council_id"] == who.council_id), None)
    ctx = {"summaries": summaries, "votes": votes, "support": support, "own_proposal": own[0] if own else None,
           "own_vote": own_vote, "proposal_council": {pr["id"]: pr["council_id"] for pr in r["proposals"]},
           "plan_groups": [], "objective_unit": ""}
    plan = (r.get("result") or {}).get("plan") or {}
    if plan:
        ctx["objective_unit"] = _objective_unit(r["params"]["economy"], plan.get("objective_spec"))
    if plan.get("output"):
        targets, prices = plan.get("targets") or {}, plan.get("prices") or {}
        for g in cat.groups:
            rows = [{"id": p, "name": row["name"], "unit": row["unit"], "target": float(targets.get(p, 0.0)),
                     "output": float(plan["output"].get(p, 0.0)), "price": float(prices.get(p, 0.0))}
                    for p, row in info[info["group"] == g].iterrows()]
            ctx["plan_groups"].append((g, rows))
        units = info["unit"].unique()
        if len(units) == 1:  # sums by group need one unit
            from gosplan.server import charts

            def by_group(basket: dict) -> dict[str, float]:
                out = dict.fromkeys(cat.groups, 0.0)
                for k, v in basket.items():
                    if k in group_of:
                        out[group_of[k]] += float(v)
                return out

            asked = {councils.get(pr["council_id"], str(pr["council_id"])): by_group(pr.get("basket") or {})
                     for pr in r["proposals"]}
            ctx["group_figures"] = charts.group_chart(cat.groups, asked, by_group(targets), str(units[0]))
    return ctx


@router.get("/rounds/{round_id}/report.html", response_class=HTMLResponse)
async def round_report_page(request: Request, round_id: int):
    """The published round's result as one self-contained HTML report (:mod:`gosplan.report`)."""
    from gosplan.server import charts
    from gosplan.server.round_report import round_report
    from gosplan.server.services import Conflict

    svc = _svc(request)
    try:
        r = await run_in_threadpool(svc.round, round_id)
        if r["result"] is None:
            raise Conflict(f"round {round_id} is {r['status']}; its report is made once its result is published")
    except Refusal as exc:
        return _error(request, exc)
    councils = {c["id"]: c["name"] for c in await run_in_threadpool(svc.councils)}

    def build() -> str:
        from gosplan.democracy import costing

        cat, figures = None, []
        if r["kind"] == "plan":
            cat = costing.catalogue(r["params"]["economy"])
            ctx = _plan_context(svc, r, councils, None)
            figures = ctx.get("group_figures", []) + charts.plan_charts(r["result"], 12, r.get("product_names") or {},
                                                                        _one_unit(r["params"]["economy"]))
        elif r["kind"] == "budget":
            figures = charts.budget_charts(r["result"], r["projects"])
        unit = _objective_unit(r["params"]["economy"], (r["result"].get("plan") or {}).get("objective_spec")) if cat else ""
        return round_report(r, councils, figures, cat, unit).html()

    return HTMLResponse(await run_in_threadpool(build))


@router.get("/rounds/{round_id}/ledger", response_class=HTMLResponse)
async def ledger_page(request: Request, round_id: int):
    """The round's ledger as a page to read: one row per entry, oldest first (the file is beside it)."""
    import json

    svc = _svc(request)
    try:
        r = await run_in_threadpool(svc.round, round_id)
        texts = await run_in_threadpool(svc.ledger_texts, round_id)
    except Refusal as exc:
        return _error(request, exc)
    entries = []
    for t in texts:
        e = json.loads(t)
        payload = e.get("payload") or {}
        summary = ", ".join(f"{k}: {_short(v)}" for k, v in payload.items())
        entries.append({"seq": e.get("seq"), "time": str(e.get("time", ""))[:19].replace("T", " "),
                        "kind": str(e.get("kind", "")).replace("_", " "), "actor": e.get("actor", ""),
                        "summary": summary, "hash": str(e.get("hash", ""))})
    return _render(request, "ledger.html", r=r, entries=entries)


def _short(value, limit: int = 120) -> str:  # noqa: ANN001
    import json

    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, separators=(", ", ": "))
    return text if len(text) <= limit else text[:limit - 1] + "…"


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
    """Submit the council's proposal, or (``action=cost``) show the page again with its cost."""
    from gosplan.server import proposals

    form = await request.form()
    who = _who(request)
    svc = _svc(request)
    try:
        r = await run_in_threadpool(svc.round, round_id)
        economy = (r.get("params") or {}).get("economy")
        if economy is None:
            raise Invalid(f"round {round_id} is {explain.article(r['kind'])} round; councils propose in plan rounds")
        if str(form.get("action") or "") == "cost":
            return await _round_page(request, round_id, form=form)
        data = await run_in_threadpool(proposals.from_form, economy, form)
        data["council_id"] = _whole(form.get("council_id") or (who.council_id if who else 0), "council_id")
        data = proposals.stored_proposal(economy, round_id, r["kind"], data)
        await run_in_threadpool(svc.propose, who, round_id, data, _nonce(request, form))
    except Refusal as exc:
        if exc.status in (401, 403, 404):
            return _error(request, exc)
        # keep what the delegate typed: the page again, with the reason
        return await _round_page(request, round_id, form=form, message=str(exc), status=exc.status)
    return RedirectResponse(f"/ui/rounds/{round_id}", status_code=303)


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
    from gosplan import datasets
    from gosplan.server import _domain, explain

    def economies() -> list[dict]:
        out = []
        for name in datasets.names("economy"):
            eco = _domain.economy(name)
            factors = [(str(f), str(eco.factors.loc[f, "unit"])) for f in eco.factor_ids if not eco.factors.loc[f, "signed"]]
            out.append({"name": name, "title": datasets.DATASETS[name].title, "factors": factors,
                        "default": _domain.default_objective(name)})
        return out

    return _render(request, "planner.html", councils=await run_in_threadpool(_svc(request).councils),
                   plan_rules=_domain.PLAN_RULES, budget_rules=_domain.BUDGET_RULES, election_rules=_domain.ELECTION_RULES,
                   economy=_domain.DEFAULT_ECONOMY, economies=await run_in_threadpool(economies), rules=explain.RULES)


@router.post("/rounds")
async def open_round(request: Request):
    form = await request.form()
    try:
        kind = str(form.get("kind") or "")
        data: dict = {"kind": kind, "title": str(form.get("title") or "").strip() or f"{kind} round",
                      "rule": str(form.get("rule") or "")}
        if kind == "plan":
            data["economy"] = str(form.get("economy") or "") or None
            data["objective"] = str(form.get("objective") or "").strip() or None
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


# -- administration -------------------------------------------------------------------
@router.get("/admin", response_class=HTMLResponse)
async def admin_page(request: Request):
    """Councils, members and planners: register, rename, retire (the administrator only)."""
    return await _admin(request)


async def _admin(request: Request, issued: dict | None = None) -> Response:
    """The administration page; ``issued`` is a token just made, shown this once."""
    who = _who(request)
    if who is None or who.role != "admin":
        return error_page(request, 403 if who else 401, "this page is the administrator's; log in with the "
                                                        "administrator's token")
    svc = _svc(request)

    def read() -> dict:
        councils = svc.councils()
        return {"councils": councils, "members": {c["id"]: svc.members(c["id"]) for c in councils},
                "planners": svc.planners()}

    return _render(request, "admin.html", who=who, issued=issued, **await run_in_threadpool(read))


@router.post("/admin/councils")
async def admin_new_council(request: Request):
    form = await request.form()
    try:
        threshold = _float(form, "recall_threshold")
        data = {"name": _name(form, "name"), "kind": str(form.get("kind") or "workers"),
                "weight": _float(form, "weight") or 1.0,
                "recall_threshold": (threshold if threshold is not None else 50.0) / 100.0,
                "seats": _whole(form.get("seats") or 1, "seats")}
        if data["kind"] not in ("workers", "consumers", "region"):
            raise Invalid(f"kind {data['kind']!r}: choose workers, consumers or region")
        if not data["weight"] > 0 or not 0 < data["recall_threshold"] <= 1 or not 1 <= data["seats"] <= 100:
            raise Invalid("give a weight > 0, a recall threshold above 0 and at most 100 %, and 1 to 100 seats")
    except Refusal as exc:
        return _error(request, exc)
    return await _act(request, _svc(request).create_council, _who(request), data, _nonce(request, form), to="/ui/admin")


@router.post("/admin/councils/{council_id}/members")
async def admin_new_member(request: Request, council_id: int):
    form = await request.form()
    try:
        name = _name(form, "name")
        out = await run_in_threadpool(_svc(request).create_member, _who(request), council_id, name, _nonce(request, form))
    except Refusal as exc:
        return _error(request, exc)
    return await _admin(request, issued={"label": out["name"], "token": out["token"], "whom": "the member"})


@router.post("/admin/planners")
async def admin_new_planner(request: Request):
    form = await request.form()
    try:
        label = _name(form, "label")
        out = await run_in_threadpool(_svc(request).create_planner, _who(request), label, _nonce(request, form))
    except Refusal as exc:
        return _error(request, exc)
    return await _admin(request, issued={"label": out["label"], "token": out["token"], "whom": "the planner"})


@router.post("/admin/{what}/{ident}/{act}")
async def admin_act(request: Request, what: str, ident: int, act: str):
    """Rename or retire a council, member or planner."""
    form = await request.form()
    svc = _svc(request)
    acts = {("councils", "rename"): svc.rename_council, ("councils", "retire"): svc.retire_council,
            ("members", "rename"): svc.rename_member, ("members", "retire"): svc.retire_member,
            ("planners", "rename"): svc.rename_planner, ("planners", "retire"): svc.retire_planner}
    fn = acts.get((what, act))
    if fn is None:
        return _error(request, Refusal(f"no such action: {act} of {what}", status=404))
    try:
        args = (_name(form, "name"),) if act == "rename" else ()
    except Refusal as exc:
        return _error(request, exc)
    return await _act(request, fn, _who(request), ident, *args, _nonce(request, form), to="/ui/admin")


def _name(form, field: str) -> str:  # noqa: ANN001
    text = str(form.get(field) or "").strip()
    if not text or len(text) > 200:
        raise Invalid(f"{field}: give a name of 1 to 200 characters")
    return text
