"""The manager's deadline board: every job as one row (its stage, engineers, due date, predicted
finish, slack and paused time), most urgent first, with the filters the board offers.

Reads only, in a fixed number of queries however many jobs there are: the jobs (filtered in the
database), their stages with engineers in one prefetch, the choices for the filter menus."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

from django.db.models import Exists, F, OuterRef, Prefetch, Q, QuerySet
from django.utils import timezone

from jobs.models import (
    CLOSED,
    HAS_DEADLINE,
    STAGE_FINISHED,
    STUDIO_ROLES,
    DeadlineStatus,
    Job,
    JobStatus,
    Organisation,
    Stage,
    User,
)

OPEN_VIEW, CLOSED_VIEW = "open", "closed"
# Most urgent first; a job without a running clock (not yet accepted, delivered) comes last.
STATE_RANK = {DeadlineStatus.OVERDUE: 0, DeadlineStatus.AT_RISK: 1, DeadlineStatus.ON_TRACK: 2}
STATE_LABELS = dict(DeadlineStatus.choices)
OPEN_STATUSES = [(v, label) for v, label in JobStatus.choices if v not in CLOSED]
CLOSED_STATUSES = [(v, label) for v, label in JobStatus.choices if v in CLOSED]
STAGES_PER_ROUND = 6


@dataclass(frozen=True)
class BoardFilters:
    """What the board shows, read from the query string (unknown values are ignored, so a stale
    or hand-edited link shows the whole board rather than an error)."""

    view: str = OPEN_VIEW
    engineer: int | None = None
    status: str = ""
    state: str = ""
    client: int | None = None
    q: str = ""

    @classmethod
    def from_query(cls, query: Mapping[str, str]) -> BoardFilters:
        view = CLOSED_VIEW if query.get("view") == CLOSED_VIEW else OPEN_VIEW
        statuses = dict(CLOSED_STATUSES if view == CLOSED_VIEW else OPEN_STATUSES)
        status = query.get("status", "")
        state = query.get("state", "")
        return cls(
            view=view,
            engineer=_int(query.get("engineer")),
            status=status if status in statuses else "",
            state=state if state in STATE_RANK and view == OPEN_VIEW else "",
            client=_int(query.get("client")),
            q=query.get("q", "").strip()[:100],
        )

    def query(self, **changes: object) -> str:
        """The query string of these filters with some changed (for the board's plain links)."""
        values = {
            "view": self.view,
            "engineer": self.engineer or "",
            "status": self.status,
            "state": self.state,
            "client": self.client or "",
            "q": self.q,
            **changes,
        }
        return urlencode({k: v for k, v in values.items() if v not in ("", None, OPEN_VIEW)})

    @property
    def active(self) -> bool:
        return bool(self.engineer or self.status or self.state or self.client or self.q)


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value else None
    except ValueError:
        return None


@dataclass
class BoardRow:
    job: Job
    state: str  # a DeadlineStatus value, or "" when the job has no deadline to keep
    stage: Stage | None  # the first open stage of the current round
    done: int
    total: int
    engineers: list[User]
    slack: timedelta | None
    paused: timedelta

    @property
    def state_label(self) -> str:
        return STATE_LABELS.get(self.state, "")


@dataclass
class Board:
    filters: BoardFilters
    rows: list[BoardRow]
    counts: dict[str, int] = field(default_factory=dict)  # per state, before the state filter
    engineers: list[User] = field(default_factory=list)
    clients: list[Organisation] = field(default_factory=list)

    @property
    def statuses(self) -> list[tuple[str, str]]:
        return CLOSED_STATUSES if self.filters.view == CLOSED_VIEW else OPEN_STATUSES

    @property
    def summary(self) -> list[dict[str, object]]:
        """The counts at the top, each a link that filters the board by that state (or, when it
        is the filter already, removes it)."""
        return [
            {
                "state": state,
                "label": STATE_LABELS[state],
                "count": self.counts.get(state, 0),
                "current": self.filters.state == state,
                "query": self.filters.query(state="" if self.filters.state == state else state),
            }
            for state in STATE_RANK
        ]


def deadline_state(job: Job, now: datetime) -> str:
    """The deadline state a job shows: none once closed, delivered or before acceptance;
    overdue as soon as a running clock passes the due date (the re-plan may not have run yet);
    otherwise what the last plan said."""
    if not job.has_deadline_state:
        return ""
    if job.is_overdue(now):
        return DeadlineStatus.OVERDUE
    return job.deadline_status


def paused_time(job: Job, now: datetime) -> timedelta:
    """How long the clock has been stopped, the pause still under way included."""
    return job.paused_total + (now - job.paused_at if job.paused_at else timedelta(0))


def _jobs(filters: BoardFilters) -> QuerySet[Job]:
    closed = sorted(CLOSED)
    jobs = Job.objects.select_related("organisation")
    jobs = (
        jobs.filter(status__in=closed)
        if filters.view == CLOSED_VIEW
        else jobs.exclude(status__in=closed)
    )
    if filters.status:
        jobs = jobs.filter(status=filters.status)
    if filters.client:
        jobs = jobs.filter(organisation_id=filters.client)
    if filters.engineer:
        jobs = jobs.filter(
            Exists(
                Stage.objects.filter(
                    job=OuterRef("pk"),
                    revision_round=OuterRef("revision_round"),
                    assignee_id=filters.engineer,
                )
            )
        )
    if filters.q:
        jobs = jobs.filter(
            Q(track_title__icontains=filters.q)
            | Q(artist__icontains=filters.q)
            | Q(organisation__name__icontains=filters.q)
        )
    current_round = Stage.objects.filter(revision_round=F("job__revision_round"))
    return jobs.prefetch_related(
        Prefetch(
            "stages",
            queryset=current_round.select_related("assignee").order_by("position"),
            to_attr="round_stages",
        )
    )


def _row(job: Job, now: datetime) -> BoardRow:
    stages: list[Stage] = job.round_stages  # type: ignore[attr-defined]
    open_stages = [s for s in stages if s.status not in STAGE_FINISHED]
    engineers: list[User] = []
    for s in open_stages or stages:
        if s.assignee and s.assignee not in engineers:
            engineers.append(s.assignee)
    slack = (
        job.due_at - job.predicted_finish_at
        if job.due_at and job.predicted_finish_at and job.status in HAS_DEADLINE
        else None
    )
    return BoardRow(
        job=job,
        state=deadline_state(job, now),
        stage=open_stages[0] if open_stages else None,
        done=len(stages) - len(open_stages),
        total=len(stages) or STAGES_PER_ROUND,
        engineers=engineers,
        slack=slack,
        paused=paused_time(job, now),
    )


def _urgency(row: BoardRow) -> tuple[object, ...]:
    far = timedelta.max
    due = row.job.due_at
    return (
        STATE_RANK.get(row.state, 3),  # type: ignore[call-overload]
        row.slack if row.slack is not None else far,
        due.timestamp() if due else float("inf"),
        row.job.created_at.timestamp(),
    )


def board(filters: BoardFilters, *, now: datetime | None = None) -> Board:
    """The board for these filters: open jobs most urgent first (overdue, at risk, then the
    least slack), or closed jobs most recently closed first."""
    now = now or timezone.now()
    rows = [_row(job, now) for job in _jobs(filters)]
    counts = Counter(r.state for r in rows if r.state)
    if filters.view == CLOSED_VIEW:
        rows.sort(key=lambda r: r.job.closed_at or r.job.created_at, reverse=True)
    else:
        if filters.state:
            rows = [r for r in rows if r.state == filters.state]
        rows.sort(key=_urgency)
    return Board(
        filters=filters,
        rows=rows,
        counts={state: counts.get(state, 0) for state in STATE_RANK},
        engineers=list(
            User.objects.filter(role__in=STUDIO_ROLES, is_active=True).order_by(
                "first_name", "username"
            )
        ),
        clients=list(Organisation.objects.order_by("name")),
    )


CSV_HEADER = [
    "Track",
    "Artist",
    "Client",
    "Status",
    "Deadline",
    "Stage",
    "Progress",
    "Engineers",
    "Due (UTC)",
    "Predicted finish (UTC)",
    "Slack (hours)",
    "Paused (hours)",
]


def _hours(delta: timedelta | None) -> str:
    return "" if delta is None else f"{delta.total_seconds() / 3600:.1f}"


def _utc(moment: datetime | None) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M") if moment else ""


def csv_rows(result: Board) -> list[list[str]]:
    """The board as rows of text, the header first (the view writes them with csv)."""
    out = [CSV_HEADER]
    for r in result.rows:
        job = r.job
        out.append(
            [
                job.track_title,
                job.artist,
                job.organisation.name,
                job.get_status_display(),
                r.state_label,
                r.stage.get_kind_display() if r.stage else "",
                f"{r.done}/{r.total}",
                "; ".join(e.get_full_name() or e.username for e in r.engineers),
                _utc(job.due_at),
                _utc(job.predicted_finish_at) if job.status in HAS_DEADLINE else "",
                _hours(r.slack),
                _hours(r.paused),
            ]
        )
    return out
