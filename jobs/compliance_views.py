"""The break-compliance page and its CSV: a chosen period, per engineer."""

from __future__ import annotations

import csv
from datetime import date, timedelta

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from jobs.board_views import require_manager
from jobs.compliance import MAX_DAYS, compliance, csv_rows


def _period(query: QueryDict) -> tuple[date, date, str]:
    """The period asked for (the last seven days by default), and what was wrong with it."""
    today = timezone.localdate()
    default = (today - timedelta(days=6), today)
    raw_start, raw_end = query.get("start", ""), query.get("end", "")
    if not raw_start and not raw_end:
        return (*default, "")
    try:
        start, end = date.fromisoformat(raw_start), date.fromisoformat(raw_end)
    except ValueError:
        return (*default, "Give both dates as dates; showing the last seven days.")
    if end < start:
        return (*default, "The period ends before it starts; showing the last seven days.")
    if (end - start).days >= MAX_DAYS:
        return (
            end - timedelta(days=MAX_DAYS - 1),
            end,
            f"A period is at most {MAX_DAYS} days; showing the last {MAX_DAYS} up to the end.",
        )
    return start, end, ""


@require_GET
@login_required
def compliance_view(request: HttpRequest) -> HttpResponse:
    require_manager(request)
    start, end, problem = _period(request.GET)
    rows = compliance(start=start, end=end)
    return render(
        request,
        "jobs/compliance.html",
        {"rows": rows, "start": start, "end": end, "problem": problem},
        status=400 if problem else 200,
    )


@require_GET
@login_required
def compliance_csv(request: HttpRequest) -> HttpResponse:
    require_manager(request)
    start, end, _ = _period(request.GET)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="headroom-breaks-{start.isoformat()}-{end.isoformat()}.csv"'
    )
    csv.writer(response).writerows(csv_rows(compliance(start=start, end=end)))
    return response
