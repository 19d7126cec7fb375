"""The engineer's desk: what I am on with its listening session, my next stages, the work up for
grabs. Each move answers, with htmx, every region of the desk as out-of-band swaps (a taken
stage leaves *up for grabs* and appears in *next*; a finished one lets the next one start); a
plain POST goes back to the desk with the outcome as a message."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit
from uuid import UUID

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.timesince import timeuntil
from django.views.decorators.http import require_GET, require_POST

from jobs.access import session_for, stage_for
from jobs.desk_selectors import desk_grabs, desk_next, desk_now, open_session
from jobs.dose import MAX_SPL_DB, MIN_SPL_DB
from jobs.fragments import content_key
from jobs.models import ListeningSession, Stage, StageKind, User
from jobs.services import (
    NotAllowed,
    WorkflowError,
    WrongState,
    stage_finish,
    stage_skip,
    stage_start,
    stage_unticked,
)
from jobs.services import stage_take as take_service
from jobs.sessions import (
    EarRules,
    break_prompt,
    break_skip,
    break_take,
    day_so_far,
    ear_rules,
    last_capped_session,
    session_level_change,
    session_start,
    session_state,
    session_stop,
)
from jobs.stage_views import HtmxHttpRequest, StageRow, _row
from jobs.templatetags.desk import when

DESK = "jobs/desk.html"
REGIONS = "jobs/desk.html#regions"
SESSION = "jobs/desk_session.html"


def _user(request: HtmxHttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _require_studio(user: User) -> None:
    if not user.is_studio:
        raise PermissionDenied("The desk is the studio's.")


# Rows shown in *next* and *up for grabs* until the engineer asks for all of them: a busy studio
# has hundreds of open stages, and a page of a thousand rows is slow to serve and to read.
DESK_ROWS = 30


def _show_all(request: HtmxHttpRequest) -> bool:
    """`?all=1` on the desk, or on the page an htmx move came from."""
    if request.GET.get("all") == "1":
        return True
    current = request.htmx.current_url if request.htmx else None
    return bool(current) and parse_qs(urlsplit(current or "").query).get("all") == ["1"]


KIND_LABELS = {k.value: str(k.label) for k in StageKind}


@dataclass(frozen=True)
class DeskRow:
    """A row of *next* or *up for grabs* with what it shows worked out once in Python: its
    moves (`StageRow`'s), its links, and its times in words (a job's dates once per job), so a
    page of rows costs the template plain lookups."""

    pk: int
    error: str
    can_start: bool
    can_take: bool
    blocked: bool
    job_url: str
    move_url: str  # start (next) or take (up for grabs)
    track_title: str
    artist: str
    kind_label: str
    round_number: int  # shown from the second round on
    deadline_status: str
    due_iso: str
    due_when: str
    overdue: bool
    time_left: str
    predicted_iso: str
    predicted_when: str
    proposed_you: bool
    proposed_name: str
    # content_key of every value above: the row's fragment (all of it but its form, whose
    # CSRF token is the response's) is rendered once per process for each state of the row.
    key: str


@dataclass
class _JobDates:
    url: str
    due_iso: str
    due_when: str
    overdue: bool
    time_left: str


def _urls(name: str, placeholder: Any) -> Callable[[Any], str]:
    """`reverse(name, args=[pk])` for a page of rows at the cost of one reverse: the URL with a
    placeholder for the pk, filled in per row (an id or uuid is written into a path as is).
    Made per request, as the URL's prefix is the request's."""
    head, _, tail = reverse(name, args=[placeholder]).rpartition(str(placeholder))
    return lambda pk: f"{head}{pk}{tail}"


_SOME_JOB = UUID("f" * 32)
_SOME_STAGE = 7_000_000_001


def _shown_rows(
    rows: list[StageRow], user: User, now: datetime, jobs: dict[Any, _JobDates], move: str
) -> list[DeskRow]:
    out = []
    job_url, move_url = _urls("job_detail", _SOME_JOB), _urls(move, _SOME_STAGE)
    for r in rows:
        s = r.stage
        job = s.job
        dates = jobs.get(job.pk)
        if dates is None:
            due = job.due_at
            dates = jobs[job.pk] = _JobDates(
                job_url(job.pk),
                r.due_iso,
                when(due, now) if due is not None else "",
                due is not None and due < now,
                timeuntil(due, now) if due is not None and due >= now else "",
            )
        # Up for grabs shows neither the time left nor the predicted finish, and next no
        # proposed engineer: left empty, so a row's key changes only with what it shows (the
        # time left changes by the minute).
        grabs = move == "stage_take"
        predicted = None if grabs else s.predicted_finish_at
        proposed = s.proposed_assignee if grabs else None
        shown = (
            s.pk,
            r.error,
            r.can_start,
            r.can_take,
            bool(getattr(s, "blocked", False)),
            dates.url,
            move_url(s.pk),
            job.track_title,
            job.artist,
            KIND_LABELS.get(s.kind, s.kind),
            s.revision_round + 1 if s.revision_round else 0,
            job.deadline_status,
            dates.due_iso,
            dates.due_when,
            dates.overdue and not grabs,
            "" if grabs else dates.time_left,
            predicted.isoformat() if predicted else "",
            when(predicted, now) if predicted else "",
            proposed is not None and s.proposed_assignee_id == user.pk,
            (proposed.get_full_name() or proposed.username) if proposed else "",
        )
        out.append(DeskRow(*shown, key=content_key(*shown)))
    return out


def desk_context(
    user: User,
    *,
    error: str = "",
    error_stage: int | None = None,
    show_all: bool = False,
    rules: EarRules | None = None,
) -> dict[str, Any]:
    now = timezone.now()
    rules = rules or ear_rules(engineer=user, now=now)
    labels: dict[Any, tuple[str, str]] = {}
    limit = None if show_all else DESK_ROWS + 1  # one more than shown says there are more

    def rows(stages: list[Stage]) -> list[Any]:
        # The desk words its dates itself (`when`): the queue's due label is not made.
        return [
            _row(s, user, error if s.pk == error_stage else "", labels, labelled=False)
            for s in stages
        ]

    now_rows = rows(desk_now(user))
    next_rows = rows(desk_next(user, limit=limit))
    grab_rows = rows(desk_grabs(limit=limit))
    next_more = not show_all and len(next_rows) > DESK_ROWS
    grabs_more = not show_all and len(grab_rows) > DESK_ROWS
    if not show_all:
        next_rows, grab_rows = next_rows[:DESK_ROWS], grab_rows[:DESK_ROWS]
    shown = {r.stage.pk for r in (*now_rows, *next_rows, *grab_rows)}
    jobs: dict[Any, _JobDates] = {}
    session = open_session(user)
    listening = session_state(session=session, now=now, rules=rules) if session else None
    today = None if session else day_so_far(engineer=user, now=now, day_start=rules.day_start)
    return {
        "now": now,
        # The level a session starts at (the engineer's usual one) and, between sessions, today.
        "expected_level": rules.expected_level,
        "today": today.listened if today else None,
        "dose_today": today.dose if today else None,
        "daily_dose_limit": rules.daily_dose_limit,
        "level_range": (MIN_SPL_DB, MAX_SPL_DB),
        "now_rows": now_rows,
        "next_rows": _shown_rows(next_rows, user, now, jobs, "desk_start"),
        "grab_rows": _shown_rows(grab_rows, user, now, jobs, "stage_take"),
        "next_more": next_more,
        "grabs_more": grabs_more,
        "listening": listening,
        "capped": last_capped_session(engineer=user, now=now, day_start=rules.day_start),
        # A refusal whose stage left the desk (taken by someone else) is said at the top.
        "desk_error": error if error and error_stage not in shown else "",
    }


def _answer(
    request: HtmxHttpRequest,
    outcome: str,
    *,
    error: str = "",
    error_stage: int | None = None,
    status: int = 200,
) -> HttpResponse:
    if request.htmx:
        return _render_desk(request, REGIONS, status=status, error=error, error_stage=error_stage)
    if status == 403:
        raise PermissionDenied(error)
    if error:
        messages.error(request, error)
    else:
        messages.success(request, outcome)
    return redirect("desk")


def _refusal(request: HtmxHttpRequest, exc: WorkflowError, stage_id: int | None) -> HttpResponse:
    status = 403 if isinstance(exc, NotAllowed) else 400
    return _answer(request, "", error=exc.message, error_stage=stage_id, status=status)


def _render_desk(
    request: HtmxHttpRequest, template: str, *, status: int = 200, **context: Any
) -> HttpResponse:
    """The desk (or its regions) with its times in the engineer's local time: their profile's
    timezone, else the studio's."""
    user = _user(request)
    rules = ear_rules(engineer=user)
    with timezone.override(rules.zone):
        built = desk_context(user, show_all=_show_all(request), rules=rules, **context)
        return render(request, template, built, status=status)


@require_GET
@login_required
def desk(request: HtmxHttpRequest) -> HttpResponse:
    _require_studio(_user(request))
    return _render_desk(request, REGIONS if request.htmx else DESK)


def _stage_move(
    request: HtmxHttpRequest, stage_id: int, move: Callable[[Stage, User], Any], done: str
) -> HttpResponse:
    user = _user(request)
    stage = stage_for(user, stage_id)
    _require_studio(user)
    try:
        move(stage, user)
    except WorkflowError as exc:
        return _refusal(request, exc, stage_id)
    return _answer(request, f"{stage.job.track_title}, {stage.get_kind_display()}: {done}.")


@require_POST
@login_required
def stage_take_view(request: HtmxHttpRequest, stage_id: int) -> HttpResponse:
    """Take a stage from *up for grabs*; of two at once, the second is told who has it."""
    return _stage_move(request, stage_id, lambda s, u: take_service(stage=s, by=u), "yours now")


@require_POST
@login_required
def desk_start_view(request: HtmxHttpRequest, stage_id: int) -> HttpResponse:
    """Start a stage; `override` is a manager's reason to start a fresh-ears stage anyway."""
    override = request.POST.get("override", "")
    return _stage_move(
        request, stage_id, lambda s, u: stage_start(stage=s, by=u, override=override), "started"
    )


@require_POST
@login_required
def desk_finish_view(request: HtmxHttpRequest, stage_id: int) -> HttpResponse:
    """Finish a stage; with checklist items unticked it asks first (and says which)."""
    confirmed = request.POST.get("confirm") == "yes"

    def finish(stage: Stage, user: User) -> Stage:
        unticked = stage_unticked(stage)
        if unticked and not confirmed:
            raise WrongState(f"Still unticked: {', '.join(unticked)}. Finish anyway?")
        return stage_finish(stage=stage, by=user)

    return _stage_move(request, stage_id, finish, "done")


@require_POST
@login_required
def desk_skip_view(request: HtmxHttpRequest, stage_id: int) -> HttpResponse:
    reason = request.POST.get("reason", "")
    return _stage_move(
        request, stage_id, lambda s, u: stage_skip(stage=s, by=u, reason=reason), "skipped"
    )


def _level_asked(request: HtmxHttpRequest) -> float | None:
    """The monitoring level typed in (None when left empty: the engineer's usual one)."""
    raw = request.POST.get("level_db", "").strip().replace(",", ".")
    if not raw:
        return None
    try:
        return float(raw)
    except ValueError:
        raise WrongState(
            f"Give the level as a number of dB SPL between {MIN_SPL_DB:g} and {MAX_SPL_DB:g}."
        ) from None


@require_POST
@login_required
def session_start_view(request: HtmxHttpRequest, stage_id: int) -> HttpResponse:
    """Start listening on a stage I am on, at the level given; the server holds the session
    from now."""
    return _stage_move(
        request,
        stage_id,
        lambda s, u: session_start(stage=s, by=u, level_db=_level_asked(request)),
        "listening",
    )


@require_POST
@login_required
def session_level_view(request: HtmxHttpRequest, session_id: int) -> HttpResponse:
    """Turn the monitors up or down: the sound dose counts the new level from now."""

    def change(s: ListeningSession, u: User) -> Any:
        level = _level_asked(request)
        if level is None:
            raise WrongState(
                f"Give the level you monitor at, between {MIN_SPL_DB:g} and {MAX_SPL_DB:g} dB SPL."
            )
        return session_level_change(session=s, by=u, level_db=level)

    return _session_move(request, session_id, change, "Monitoring level changed.")


def _session_move(
    request: HtmxHttpRequest,
    session_id: int,
    move: Callable[[ListeningSession, User], Any],
    done: str,
) -> HttpResponse:
    user = _user(request)
    session = session_for(user, session_id)  # someone else's session is a 404
    try:
        move(session, user)
    except WorkflowError as exc:
        return _refusal(request, exc, session.stage_id)
    return _answer(request, done)


@require_POST
@login_required
def session_tick_view(request: HtmxHttpRequest, session_id: int) -> HttpResponse:
    """The page's poll: records the break prompt once it is due and answers the timer alone
    (the session region, swapped by its id); a session that has ended meanwhile (another tab,
    the beat task) answers every region, so the desk shows what is left."""
    user = _user(request)
    session = session_for(user, session_id)  # someone else's session is a 404
    if not request.htmx or session.ended_at is not None:
        return _session_move(
            request, session_id, lambda s, u: break_prompt(session=s), "Listening time updated."
        )
    now = timezone.now()
    rules = ear_rules(engineer=user, now=now)
    state = session_state(session=session, now=now, rules=rules)
    if state.prompt is None and state.resting is None and state.due.is_due(now):
        # Rare: the moment the break falls due. Recorded under the session's lock, then read
        # again so the prompt shown is the one stored.
        break_prompt(session=session, now=now)
        state = session_state(session=session, now=now, rules=rules)
    with timezone.override(rules.zone):
        return render(request, SESSION, {"listening": state, "session_only": True})


@require_POST
@login_required
def session_stop_view(request: HtmxHttpRequest, session_id: int) -> HttpResponse:
    """Stop listening: the time listened (breaks excluded) is logged on the stage."""
    return _session_move(
        request, session_id, lambda s, u: session_stop(session=s, by=u), "Listening time logged."
    )


def _prompted(session: ListeningSession) -> Any:
    prompt = break_prompt(session=session)
    if prompt is None:
        raise WorkflowError("No break is due yet.")
    return prompt


@require_POST
@login_required
def session_break_take_view(request: HtmxHttpRequest, session_id: int) -> HttpResponse:
    return _session_move(
        request,
        session_id,
        lambda s, u: break_take(ear_break=_prompted(s), by=u),
        "Break started: rest your ears.",
    )


@require_POST
@login_required
def session_break_skip_view(request: HtmxHttpRequest, session_id: int) -> HttpResponse:
    reason = request.POST.get("reason", "").strip()

    def skip(s: ListeningSession, u: User) -> Any:
        if not reason:
            raise WorkflowError("Say why you skip the break (it is logged for the studio).")
        return break_skip(ear_break=_prompted(s), by=u, reason=reason)

    return _session_move(request, session_id, skip, "Break skipped; the reason is logged.")
