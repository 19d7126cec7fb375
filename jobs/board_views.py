"""The manager's pages over all the studio's work: the deadline board and its CSV export."""

from __future__ import annotations

import csv

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from jobs.board import CLOSED_VIEW, BoardFilters, board, csv_rows
from jobs.models import User


def require_manager(request: HttpRequest) -> User:
    user: User = request.user  # type: ignore[assignment]
    if not user.may_manage:
        raise PermissionDenied("Only a studio manager sees this page.")
    return user


@require_GET
@login_required
def board_view(request: HttpRequest) -> HttpResponse:
    """Every open job, most urgent first; filters are links and a GET form, htmx swaps the
    results region only."""
    require_manager(request)
    result = board(BoardFilters.from_query(request.GET), page=request.GET.get("page") or 1)
    template = "jobs/board.html#board" if getattr(request, "htmx", False) else "jobs/board.html"
    return render(request, template, {"board": result, "f": result.filters})


@require_GET
@login_required
def board_csv(request: HttpRequest) -> HttpResponse:
    """The board as CSV, with the same filters as the page it was exported from: every row,
    not one page."""
    require_manager(request)
    result = board(BoardFilters.from_query(request.GET), page=None)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    which = "closed" if result.filters.view == CLOSED_VIEW else "open"
    stamp = timezone.now().strftime("%Y-%m-%d")
    response["Content-Disposition"] = f'attachment; filename="headroom-{which}-jobs-{stamp}.csv"'
    csv.writer(response).writerows(csv_rows(result))
    return response
