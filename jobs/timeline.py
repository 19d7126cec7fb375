"""A job's history in words for the job page: each event as a sentence at the studio's local time,
newest first. Clients read what concerns them; the studio reads everything, staffing included."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from zoneinfo import ZoneInfo

from jobs.fragments import content_key
from jobs.models import EventKind, Job, JobEvent, JobStatus, StageKind, StudioPolicy, User

# What a status change means to the people following the job.
_STATUS_WORDS: dict[str, str] = {
    JobStatus.DRAFT: "Job opened",
    JobStatus.SUBMITTED: "Files submitted for intake",
    JobStatus.ANALYSING: "Intake is measuring the files",
    JobStatus.AWAITING_CLIENT: "Waiting for the client",
    JobStatus.ACCEPTED: "Accepted: the work can start",
    JobStatus.IN_PROGRESS: "Mastering started",
    JobStatus.DELIVERED: "Master delivered",
    JobStatus.REVISION_REQUESTED: "Revision requested",
    JobStatus.APPROVED: "Master approved",
    JobStatus.DECLINED: "Declined",
    JobStatus.ON_HOLD: "Put on hold",
    JobStatus.CANCELLED: "Cancelled",
}
_STAGE_WORDS = {
    "in_progress": "started",
    "done": "done",
    "skipped": "skipped",
    "pending": "reopened",
}
_DEADLINE_WORDS = {"on_track": "On track", "at_risk": "At risk", "overdue": "Overdue"}
# Notes written before rounds were counted from 1 ("round 0: 3-day promise").
_OLD_ROUND = re.compile(r"^round (\d+): ")
_UTC_STAMP = re.compile(r"(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}) UTC")


@dataclass
class Entry:
    """One line of the timeline."""

    at: datetime  # in the studio's time zone
    title: str
    detail: str = ""
    by: str = ""
    studio_only: bool = False
    names: list[str] = field(default_factory=list)  # files added together, shown as one line

    @property
    def when(self) -> str:
        return local_time(self.at)


def studio_tz() -> ZoneInfo:
    """The studio's time zone, read without creating the policy row (pages only read)."""
    policy = StudioPolicy.read()
    return ZoneInfo(
        policy.timezone if policy else StudioPolicy._meta.get_field("timezone").get_default()
    )


def local_time(at: datetime, tz: tzinfo | None = None) -> str:
    """'Fri 4 Dec, 17:49': how people read a moment on a page."""
    if tz is not None:
        at = at.astimezone(tz)
    return f"{at:%a} {at.day} {at:%b}, {at:%H:%M}"


def _parse(value: str, tz: tzinfo) -> datetime | None:
    try:
        return datetime.fromisoformat(value).astimezone(tz)
    except ValueError:
        return None


def _person(user: User | None) -> str:
    if user is None:
        return ""
    return user.get_full_name() or user.username


def _stage(subject: str) -> str:
    try:
        return str(StageKind(subject).label)
    except ValueError:
        return subject.replace("_", " ").capitalize()


def _deadline(e: JobEvent, tz: tzinfo, entry: Entry) -> Entry:
    if e.subject == "deadline_status":
        entry.title = f"Deadline: {_DEADLINE_WORDS.get(e.to_value, e.to_value)}"
        entry.detail = _UTC_STAMP.sub(
            lambda m: local_time(datetime.fromisoformat(f"{m[1]}T{m[2]}+00:00"), tz), e.note
        )
        entry.studio_only = True
        return entry
    new, old = _parse(e.to_value, tz), _parse(e.from_value, tz) if e.from_value else None
    shown = local_time(new) if new else e.to_value
    entry.title = f"Due date moved: {shown}" if old else f"Due date set: {shown}"
    old_round = _OLD_ROUND.match(e.note)
    note = _OLD_ROUND.sub(f"Round {int(old_round[1]) + 1}: ", e.note) if old_round else e.note
    entry.detail = f"{note} (was {local_time(old)})" if old and note else note
    return entry


def _file(e: JobEvent, entry: Entry) -> Entry | None:
    if e.subject == "cloud link":
        entry.title = (
            f"Link from {e.from_value} {'fetched' if e.to_value == 'fetched' else 'failed'}"
        )
        entry.detail = e.note
        return entry
    if e.to_value == "needs attention":
        entry.title = f"{e.subject} could not be measured"
        entry.detail = e.note
        entry.studio_only = True
        return entry
    version, _, kind = e.to_value.partition(" ")
    if kind == "levelling preview":
        return None  # "Levelling preview sent" says it, with the file's name and the note
    entry.studio_only = kind == "master"  # a master reaches the client by its delivery
    what = (kind or "file").capitalize()  # "Stem", "Rough mix", "Reference"
    if e.from_value:
        entry.title = f"New version of {e.subject} (version {version.lstrip('v')})"
    else:
        entry.title = f"{what} added: {e.subject}"
        entry.names = [e.subject]
    entry.detail = e.note
    return entry


def _entry(e: JobEvent, tz: tzinfo) -> Entry | None:
    entry = Entry(at=e.at.astimezone(tz), title="", by=_person(e.actor))
    if e.kind == EventKind.STATUS:
        title = _STATUS_WORDS.get(e.to_value, e.to_value)
        if e.from_value == JobStatus.ON_HOLD and e.to_value != JobStatus.CANCELLED:
            title = f"Resumed: {title[0].lower()}{title[1:]}"
        entry.title, entry.detail = title, e.note
    elif e.kind == EventKind.VERDICT:
        label = dict(_VERDICTS).get(e.to_value, e.to_value)
        entry.title = f"Intake verdict: {label}"
        entry.detail = e.note.splitlines()[0] if e.note else ""
        if e.to_value == "declined" or e.from_value:
            entry.detail = e.note
    elif e.kind == EventKind.DEADLINE:
        return _deadline(e, tz, entry)
    elif e.kind == EventKind.STAGE and e.from_value == "fresh ears":
        # A manager started a fresh-ears stage without the break: the studio's own matter.
        entry.title = f"{_stage(e.subject)}: fresh ears {e.to_value}"
        entry.detail = e.note
        entry.studio_only = True
    elif e.kind == EventKind.STAGE:
        entry.title = f"{_stage(e.subject)} {_STAGE_WORDS.get(e.to_value, e.to_value)}"
        entry.detail = e.note
    elif e.kind == EventKind.ASSIGNEE:
        who = e.to_value or "nobody"
        entry.title = f"{_stage(e.subject)} assigned to {who}"
        entry.detail = f"was {e.from_value}" if e.from_value else ""
        entry.studio_only = True
    elif e.kind == EventKind.FILE:
        return _file(e, entry)
    elif e.subject == "levelling preview":
        entry.title = (
            "Levelling preview sent" if e.to_value == "sent" else f"Preview answered: {e.to_value}"
        )
        entry.detail = e.note
    elif e.subject == "guest link":
        entry.title = f"Guest link {e.to_value}: {e.from_value}"
        entry.detail = e.note
    else:
        entry.title = f"{e.subject.replace('_', ' ').capitalize() or 'Note'}: {e.to_value}"
        entry.detail = e.note
        entry.studio_only = True
    return entry


_VERDICTS = (
    ("accepted", "Accepted"),
    ("accepted_with_warnings", "Accepted with warnings"),
    ("reexport_requested", "Re-export requested"),
    ("declined", "Declined"),
)


def _merged(entries: Iterable[Entry]) -> list[Entry]:
    """Files added together (same person, same minute) read as one line."""
    out: list[Entry] = []
    for entry in entries:
        last = out[-1] if out else None
        if (
            last is not None
            and entry.names
            and last.names
            and last.by == entry.by
            and last.studio_only == entry.studio_only
            and (entry.at - last.at).total_seconds() < 120
        ):
            last.names += entry.names
            last.title = f"{len(last.names)} files added"
            last.detail = ", ".join(last.names)
            continue
        out.append(entry)
    return out


def job_timeline(job: Job, events: Iterable[JobEvent], *, viewer: User) -> list[Entry]:
    """The job's history for `viewer`, newest first: the studio sees every event, a client the
    ones about their job's progress (no staffing, no plan internals, no master before its
    delivery, no engineer's name)."""
    tz = studio_tz()
    entries = [x for x in (_entry(e, tz) for e in events) if x is not None]
    if not viewer.is_studio:
        entries = [e for e in entries if not e.studio_only]
        for e in entries:
            e.by = ""
    return list(reversed(_merged(entries)))


def timeline_key(entries: list[Entry]) -> str:
    """The fragment key (jobs.fragments) of the timeline: every value it shows (`when` is made
    from `at` alone)."""
    return content_key(*((e.at, e.title, e.detail, e.by, e.studio_only) for e in entries))
