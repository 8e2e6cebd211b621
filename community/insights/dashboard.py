"""The insights services the page, the CSV export and the API share: who may look, reading the
range and the what-if inputs, and the figures themselves."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from community import privileges
from community.insights.deflection_compare import Comparison, compare_deflection, parse_compare
from community.insights.periods import parse_period
from community.insights.summary import Summary, summary
from community.insights.whatif import WhatIf, parse_business_hours, parse_sla_minutes, sla_whatif
from community.models import User


@dataclass
class Dashboard:
    summary: Summary
    whatif: WhatIf
    compare: Comparison | None = None  # the deflection rate before and after the `compare` date, if given


def require_viewer(viewer: User | None) -> User:
    """Staff and admins only: the figures name members and describe the support desk."""
    return privileges.require_staff(viewer)


async def summary_for(viewer: User | None, params: Mapping[str, Any]) -> Summary:
    require_viewer(viewer)
    return await summary(parse_period(params.get("from"), params.get("to")))


async def summary_json(viewer: User | None, params: Mapping[str, Any]) -> dict[str, Any]:
    """The API's summary: the figures, and `deflection_compare` when a `compare` date is given."""
    require_viewer(viewer)
    period = parse_period(params.get("from"), params.get("to"))
    day = parse_compare(params.get("compare"), period)
    data = (await summary(period)).as_json()
    if day is not None:
        compared = await compare_deflection(period, day)
        data["deflection_compare"] = compared.as_json() if compared else None
    return data


async def whatif_for(viewer: User | None, params: Mapping[str, Any]) -> WhatIf:
    require_viewer(viewer)
    period = parse_period(params.get("from"), params.get("to"))
    return await sla_whatif(period, parse_sla_minutes(params.get("sla_minutes")),
                            parse_business_hours(params.get("business_hours")))


async def dashboard(viewer: User | None, params: Mapping[str, Any]) -> Dashboard:
    require_viewer(viewer)
    period = parse_period(params.get("from"), params.get("to"))
    sla = parse_sla_minutes(params.get("sla_minutes"))
    hours = parse_business_hours(params.get("business_hours"))
    day = parse_compare(params.get("compare"), period)
    return Dashboard(await summary(period), await sla_whatif(period, sla, hours),
                     await compare_deflection(period, day) if day is not None else None)


CSV_COLUMNS = ["day", "questions", "answered", "answered_within_hour", "answered_within_hour_pct", "solved"]


def csv_text(board: Dashboard) -> str:
    """One row per day: what the charts show, for a spreadsheet."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS + [f"would_escalate_at_{board.whatif.sla_minutes}_min_sla"])
    escalations = {d["day"]: d["would_escalate"] for d in board.whatif.per_day}
    for d in board.summary.per_day:
        pct = d["answered_within_hour_pct"]
        writer.writerow([d["day"], d["questions"], d["answered"], d["answered_within_hour"],
                         "" if pct is None else pct, d["solved"], escalations.get(d["day"], 0)])
    return out.getvalue()
