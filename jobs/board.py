"""The manager's deadline board: every job as one row (its stage, engineers, due date, predicted
finish, slack and paused time), most urgent first, with the filters the board offers.

Reads only, in a fixed number of queries however many jobs there are: the filtered jobs' few
fields that decide their order (plain values, to sort and count them), then one page of them in
full with their stages and engineers in one prefetch, and the choices for the filter menus. The
CSV export has every row."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from django.core.paginator import Page, Paginator
from django.db.models import Exists, F, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.functional import cached_property

from jobs.compiled import instance_from, rows_compiled_once
from jobs.csv_safe import text_cell
from jobs.fragments import content_key
from jobs.models import (
    CLOCK_RUNNING,
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
from jobs.selectors import jobs_from

OPEN_VIEW, CLOSED_VIEW = "open", "closed"
# Most urgent first; a job without a running clock (not yet accepted, delivered) comes last.
STATE_RANK = {DeadlineStatus.OVERDUE: 0, DeadlineStatus.AT_RISK: 1, DeadlineStatus.ON_TRACK: 2}
STATE_LABELS = dict(DeadlineStatus.choices)
OPEN_STATUSES = [(v, label) for v, label in JobStatus.choices if v not in CLOSED]
CLOSED_STATUSES = [(v, label) for v, label in JobStatus.choices if v in CLOSED]
STAGES_PER_ROUND = 6
PER_PAGE = 50  # rows on one page of the board


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
    # The filter menus' choices: (id, name as shown).
    engineers: list[tuple[int, str]] = field(default_factory=list)
    clients: list[tuple[int, str]] = field(default_factory=list)
    total: int = 0  # rows matching the filters, on every page
    page: Page[object] | None = None  # None: every row (the CSV)
    # The fragment keys of the two long menus (jobs.fragments): their choices and the one chosen.
    engineers_key: str = ""
    clients_key: str = ""

    # The page reads `pages` and `summary` twice each (a test, then a loop; two lists of
    # states): worked out once.
    @cached_property
    def pages(self) -> list[dict[str, object]]:
        """Links to the previous and next page, with the filters kept."""
        if self.page is None or not self.page.has_other_pages():
            return []
        links: list[dict[str, object]] = []
        if self.page.has_previous():
            n = self.page.previous_page_number()
            links.append({"rel": "prev", "label": "Previous", "query": self.filters.query(page=n)})
        if self.page.has_next():
            n = self.page.next_page_number()
            links.append({"rel": "next", "label": "Next", "query": self.filters.query(page=n)})
        return links

    @property
    def statuses(self) -> list[tuple[str, str]]:
        return CLOSED_STATUSES if self.filters.view == CLOSED_VIEW else OPEN_STATUSES

    @cached_property
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
    return _state(job.status, job.due_at, job.deadline_status, now)


def _state(status: str, due_at: datetime | None, stored: str, now: datetime) -> str:
    # deadline_state, on plain values (Job.has_deadline_state and Job.is_overdue).
    if due_at is None or status not in HAS_DEADLINE:
        return ""
    if status in CLOCK_RUNNING and due_at < now:
        return DeadlineStatus.OVERDUE
    return stored


def paused_time(job: Job, now: datetime) -> timedelta:
    """How long the clock has been stopped, the pause still under way included."""
    return job.paused_total + (now - job.paused_at if job.paused_at else timedelta(0))


def _filtered(filters: BoardFilters) -> QuerySet[Job]:
    closed = sorted(CLOSED)
    jobs = Job.objects.all()
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
    return jobs


# What a row, and the CSV, show of a job, its stages and their engineers (a job row is wide).
ROW_JOB_FIELDS = (
    "track_title",
    "artist",
    "organisation__name",
    "status",
    "revision_round",
    "due_at",
    "predicted_finish_at",
    "deadline_status",
    "created_at",
    "closed_at",
    "paused_at",
    "paused_total",
)
# What a row takes of each stage of the current round, as plain values: a page has some three
# hundred stages, and only the one shown and the engineers named become objects.
ROW_STAGE_FIELDS = (
    "job_id",
    "pk",
    "kind",
    "status",
    "position",
    "revision_round",
    "assignee_id",
)
ROW_PERSON_FIELDS = ("assignee__first_name", "assignee__last_name", "assignee__username")

StageValues = tuple[Any, ...]  # ROW_STAGE_FIELDS then ROW_PERSON_FIELDS


# A row's job as the page reads it: its own fields and its client's (`_rows_jobs`).
_ROW_JOB_COLUMNS = ("id", "organisation_id", "organisation__id", *ROW_JOB_FIELDS)


def _jobs_rows(*job_ids: object) -> QuerySet[Any]:
    rows: QuerySet[Any] = Job.objects.filter(pk__in=job_ids).values(*_ROW_JOB_COLUMNS)
    return rows


def _rows_jobs(job_ids: list[object]) -> list[Job]:
    """The jobs of a page of rows, as objects with their client (compiled once for each number
    of rows, jobs.compiled, like the page's stages)."""
    return jobs_from(rows_compiled_once(f"board_jobs:{len(job_ids)}", _jobs_rows, *job_ids))


def _stages_rows(*job_ids: object) -> QuerySet[Any]:
    rows: QuerySet[Any] = (
        Stage.objects.filter(job_id__in=job_ids, revision_round=F("job__revision_round"))
        .order_by("job_id", "position")
        .values(*ROW_STAGE_FIELDS, *ROW_PERSON_FIELDS)
    )
    return rows


def _round_stages(job_ids: list[object]) -> dict[object, list[StageValues]]:
    """Each job's stages of its current round, in order, as plain values."""
    out: dict[object, list[StageValues]] = {}
    for row in rows_compiled_once(f"board_stages:{len(job_ids)}", _stages_rows, *job_ids):
        values = tuple(row.values())
        out.setdefault(values[0], []).append(values)
    return out


def _stage_of(values: StageValues, job: Job) -> Stage:
    job_id, pk, kind, status, position, revision_round, assignee_id = values[:7]
    stage: Stage = instance_from(
        Stage,
        {
            "id": pk,
            "job_id": job_id,
            "kind": kind,
            "status": status,
            "position": position,
            "revision_round": revision_round,
            "assignee_id": assignee_id,
        },
    )
    stage.job = job
    return stage


def _person_of(values: StageValues, people: dict[int, User]) -> User:
    """The stage's engineer, one object per person however many rows name them."""
    pk = values[6]
    person = people.get(pk)
    if person is None:
        first, last, username = values[7:10]
        person = people[pk] = instance_from(
            User, {"id": pk, "first_name": first, "last_name": last, "username": username}
        )
    return person


# What the studio's people menus (the board's, the workload's) and the workload's weeks take
# of each active studio member.
STUDIO_PEOPLE_COLUMNS = ("id", "first_name", "last_name", "username", "role", "is_active")


def _studio_people() -> QuerySet[Any]:
    rows: QuerySet[Any] = (
        User.objects.filter(role__in=STUDIO_ROLES, is_active=True)
        .order_by("first_name", "username")
        .values(*STUDIO_PEOPLE_COLUMNS)
    )
    return rows


def studio_people() -> list[dict[str, Any]]:
    """The active studio members by name, as rows of STUDIO_PEOPLE_COLUMNS (compiled once: the
    board and the workload read them on every view; jobs.compiled.instance_from makes a User of
    one)."""
    return rows_compiled_once("studio_people", _studio_people)


def shown_name(row: dict[str, Any]) -> str:
    """A person's name as the pages show it: User.get_full_name, else the username."""
    return f"{row['first_name']} {row['last_name']}".strip() or row["username"]


def _menu_people() -> list[tuple[int, str]]:
    return [(row["id"], shown_name(row)) for row in studio_people()]


def _clients() -> QuerySet[Any]:
    return Organisation.objects.order_by("name").values("id", "name")


def _menu_clients() -> list[tuple[int, str]]:
    return [(row["id"], row["name"]) for row in rows_compiled_once("board_clients", _clients)]


def _row(job: Job, stages: list[StageValues], now: datetime, people: dict[int, User]) -> BoardRow:
    open_stages = [s for s in stages if s[3] not in STAGE_FINISHED]
    engineers: list[User] = []
    seen: set[int] = set()
    for s in open_stages or stages:
        if s[6] is not None and s[6] not in seen:
            seen.add(s[6])
            engineers.append(_person_of(s, people))
    slack = (
        job.due_at - job.predicted_finish_at
        if job.due_at and job.predicted_finish_at and job.status in HAS_DEADLINE
        else None
    )
    return BoardRow(
        job=job,
        state=deadline_state(job, now),
        stage=_stage_of(open_stages[0], job) if open_stages else None,
        done=len(stages) - len(open_stages),
        total=len(stages) or STAGES_PER_ROUND,
        engineers=engineers,
        slack=slack,
        paused=paused_time(job, now),
    )


def _urgency(row: BoardRow) -> tuple[object, ...]:
    job = row.job
    return _urgency_of(row.state, row.slack, job.due_at, job.created_at)


def _urgency_of(
    state: str, slack: timedelta | None, due: datetime | None, created: datetime
) -> tuple[object, ...]:
    return (
        STATE_RANK.get(state, 3),  # type: ignore[call-overload]
        slack if slack is not None else timedelta.max,
        due.timestamp() if due else float("inf"),
        created.timestamp(),
    )


ORDER_FIELDS = (
    "id",
    "status",
    "due_at",
    "predicted_finish_at",
    "deadline_status",
    "created_at",
    "closed_at",
)
_COMPILED_ID = range(-(2**31) + 1, 2**31)  # ids that fit the markers' place in any id column


def _order_rows(filters: BoardFilters) -> list[dict[str, Any]]:
    """The filtered jobs' ORDER_FIELDS, in the model's own order (so that ties sort as they
    always did). Every view of the board reads them: compiled once for each shape of filters
    (the view and status are few and part of the shape; the client and engineer are values),
    except for a search, whose text is no id."""
    ids = [v for v in (filters.client, filters.engineer) if v]
    if filters.q or any(v not in _COMPILED_ID for v in ids):
        return list(_filtered(filters).values(*ORDER_FIELDS))

    def build(*values: int) -> QuerySet[Any]:
        given = iter(values)
        shaped = replace(
            filters,
            client=next(given) if filters.client else None,
            engineer=next(given) if filters.engineer else None,
        )
        rows: QuerySet[Any] = _filtered(shaped).values(*ORDER_FIELDS)
        return rows

    shape = f"{filters.view}:{filters.status}:{bool(filters.client)}:{bool(filters.engineer)}"
    return rows_compiled_once(f"board_order:{shape}", build, *ids)


def _order(filters: BoardFilters, now: datetime) -> tuple[list[object], Counter[str]]:
    """The filtered jobs' ids in the board's order, and the count per deadline state (before
    the state filter), from a few plain fields of each job."""
    order: list[tuple[Any, object]] = []
    counts: Counter[str] = Counter()
    closed_view = filters.view == CLOSED_VIEW
    for row in _order_rows(filters):
        pk, status, due, predicted, stored, created, closed_at = row.values()
        state = _state(status, due, stored, now)
        if state:
            counts[state] += 1
        if closed_view:
            order.append(((closed_at or created).timestamp(), pk))
            continue
        if filters.state and state != filters.state:
            continue
        slack = due - predicted if due and predicted and status in HAS_DEADLINE else None
        order.append((_urgency_of(state, slack, due, created), pk))
    # Python's sort is stable, and the closed view is newest first.
    order.sort(key=lambda item: item[0], reverse=closed_view)
    return [pk for _, pk in order], counts


def board(
    filters: BoardFilters, *, now: datetime | None = None, page: int | str | None = 1
) -> Board:
    """The board for these filters: open jobs most urgent first (overdue, at risk, then the
    least slack), or closed jobs most recently closed first; one page of PER_PAGE rows, or every
    row when `page` is None (the CSV export)."""
    now = now or timezone.now()
    ids, counts = _order(filters, now)
    shown: Page[object] | None = None
    if page is not None:
        shown = Paginator(ids, PER_PAGE).get_page(page)
        wanted = list(shown.object_list)
    else:
        wanted = ids
    place = {pk: n for n, pk in enumerate(wanted)}
    full = _rows_jobs(wanted) if wanted else []
    stages = _round_stages(wanted) if wanted else {}
    people: dict[int, User] = {}
    rows = sorted(
        (_row(job, stages.get(job.pk, []), now, people) for job in full),
        key=lambda r: place[r.job.pk],
    )
    # The CSV has no menus.
    engineers = _menu_people() if page is not None else []
    clients = _menu_clients() if page is not None else []
    return Board(
        filters=filters,
        rows=rows,
        counts={state: counts.get(state, 0) for state in STATE_RANK},
        engineers=engineers,
        clients=clients,
        total=len(ids),
        page=shown,
        engineers_key=content_key(engineers, filters.engineer) if engineers else "",
        clients_key=content_key(clients, filters.client) if clients else "",
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
                text_cell(job.track_title),
                text_cell(job.artist),
                text_cell(job.organisation.name),
                job.get_status_display(),
                r.state_label,
                r.stage.get_kind_display() if r.stage else "",
                f"{r.done}/{r.total}",
                text_cell("; ".join(e.get_full_name() or e.username for e in r.engineers)),
                _utc(job.due_at),
                _utc(job.predicted_finish_at) if job.status in HAS_DEADLINE else "",
                _hours(r.slack),
                _hours(r.paused),
            ]
        )
    return out
