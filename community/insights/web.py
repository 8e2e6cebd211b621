"""HTTP routes of insights: the /insights page (staff and admins), its CSV export, and the JSON
summary and SLA what-if under /api/v1/insights. Importing this module registers the OpenAPI operations."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from community import openapi
from community.errors import Invalid
from community.insights import charts
from community.insights.dashboard import csv_text, dashboard, summary_json, whatif_for
from community.web import current_user, render

FORM_FIELDS = ("from", "to", "sla_minutes", "business_hours", "compare")


def duration(minutes: float | None) -> str:
    """Minutes as a person reads them: '45 min', '3 h 20 min', '2 d 4 h'."""
    if minutes is None:
        return "–"
    if minutes < 1:
        return f"{minutes * 60:.0f} s"
    if minutes < 60:
        return f"{minutes:.0f} min"
    if minutes < 24 * 60:
        h, m = divmod(round(minutes), 60)
        return f"{h} h {m} min" if m else f"{h} h"
    d, rest = divmod(round(minutes), 24 * 60)
    return f"{d} d {rest // 60} h" if rest // 60 else f"{d} d"


def _values(request: Request) -> dict[str, str]:
    return {k: request.query_params.get(k, "") for k in FORM_FIELDS}


def _charts(board: Any) -> dict[str, str]:
    days = [d["day"] for d in board.summary.per_day]
    s, w = board.summary, board.whatif
    return {
        "asked": charts.bar_chart("chart-asked", "Questions asked per day (darker: answered within an hour)", days,
                                  [d["questions"] for d in s.per_day],
                                  highlight=[d["answered_within_hour"] for d in s.per_day]),
        "within_hour": charts.line_chart("chart-within-hour", "Share answered within an hour, per day", days,
                                         [d["answered_within_hour_pct"] for d in s.per_day],
                                         target=s.answered_within_hour_target),
        "whatif": charts.bar_chart("chart-whatif", f"Questions that would have been escalated at a {w.sla_minutes}-minute SLA",
                                   days, [d["would_escalate"] for d in w.per_day]),
    }


async def insights_page(request: Request) -> Response:
    user = await current_user(request)
    values = _values(request)
    try:
        board = await dashboard(user, request.query_params)
    except Invalid as err:
        return await render(request, "insights/dashboard.html",
                            {"values": values, "errors": {err.field or "form": err.message}, "board": None}, err.status)
    query = urlencode({k: v for k, v in values.items() if v} | {"from": board.summary.period.first.isoformat(),
                                                                 "to": board.summary.period.last.isoformat()})
    values.update({"from": board.summary.period.first.isoformat(), "to": board.summary.period.last.isoformat(),
                   "sla_minutes": str(board.whatif.sla_minutes),
                   "business_hours": board.whatif.business_hours.label() if board.whatif.business_hours else ""})
    return await render(request, "insights/dashboard.html", {
        "values": values, "errors": {}, "board": board, "charts": _charts(board), "duration": duration,
        "csv_url": f"/insights/export.csv?{query}",
    })


async def export_csv(request: Request) -> Response:
    board = await dashboard(await current_user(request), request.query_params)
    p = board.summary.period
    return Response(csv_text(board), media_type="text/csv; charset=utf-8", headers={
        "content-disposition": f'attachment; filename="insights-{p.first.isoformat()}-to-{p.last.isoformat()}.csv"'})


async def api_summary(request: Request) -> Response:
    return JSONResponse(await summary_json(await current_user(request), request.query_params))


async def api_whatif(request: Request) -> Response:
    w = await whatif_for(await current_user(request), request.query_params)
    return JSONResponse(w.as_json())


routes = [
    Route("/insights", insights_page),
    Route("/insights/export.csv", export_csv),
    Route("/api/v1/insights/summary", api_summary),
    Route("/api/v1/insights/sla-whatif", api_whatif),
]

openapi.describe("GET", "/api/v1/insights/summary",
                 "Crowd-service figures over a date range (staff and admins); with `compare` (a date inside "
                 "the range), `deflection_compare`: the deflection rate before and after that date",
                 auth=True, query=["from", "to", "compare"])
openapi.describe("GET", "/api/v1/insights/sla-whatif",
                 "How many questions a candidate SLA would have escalated, per day, at the busiest hour, "
                 "and the agent hours (staff and admins)", auth=True,
                 query=["sla_minutes", "from", "to", "business_hours"])
