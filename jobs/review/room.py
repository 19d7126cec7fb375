"""Reads for the review room: the sources a viewer can compare (this round's masters, the
previous round's, the rough mix, the references) with their measured loudness and A/B gains,
and the comments that viewer may see. A handful of queries, whatever the number of files."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db.models import JSONField, OuterRef, Q, QuerySet, Subquery

from analysis.models import AnalysisStatus, FileAnalysis, report_value
from jobs.access import client_view, files_visible_to, visible_rows
from jobs.compiled import columns, instance_from, related_from, rows_compiled_once
from jobs.fragments import content_key
from jobs.models import AudioFile, FileKind, Job, User
from jobs.review.gain import Gains, ab_gains
from jobs.review.models import Comment, GuestLink, ReviewCopy, Visibility
from jobs.review.selectors import (
    PeakOverviews,
    Wave,
    file_wave,
    peak_overviews,
    peaks_stamp,
    wave_key,
)

MAX_SOURCES = 9  # the number keys 1 to 9


@dataclass
class Source:
    key: str  # "1".."9": its number key
    file: AudioFile
    label: str  # what it is: "Master · round 2", "Rough mix", ...
    lufs: float | None = None
    true_peak: float | None = None
    duration_s: float | None = None
    gains: Gains | None = None
    wave: Wave | None = None  # drawn when the page shows it
    copy_note: str = ""  # the review copy played instead of the original, if any
    urls: dict[str, str] = field(default_factory=dict)  # stream, peaks, download: set by views

    @property
    def is_master(self) -> bool:
        return self.file.kind == FileKind.MASTER

    @property
    def is_preview(self) -> bool:
        return self.file.kind == FileKind.PREVIEW


def visible_files(job: Job, user: User | None) -> QuerySet[AudioFile]:
    """The job's files this viewer may hear: a user's (jobs.access), or, for a guest (None),
    what the job's client sees."""
    if user is None:
        return client_view(AudioFile.objects.filter(job=job))
    return files_visible_to(user).filter(job=job)


@dataclass
class RoomFiles:
    """What one request reads once for the whole room: every file version this viewer may
    see (by kind, then name; uploaders loaded), what each measured and its copy's note."""

    files: list[AudioFile]
    measured: dict[Any, dict[str, Any]]
    copy_notes: dict[Any, str]  # the note of the review copy played instead, by file
    # the peaks' overviews, when the page read them with other files' (else None)
    overviews: PeakOverviews | None = None


_NAME = ("username", "first_name", "last_name")  # of a person: the name the pages show


def _room_rows(files: QuerySet[AudioFile]) -> QuerySet[Any]:
    """`files` as room_files reads them: every column, the uploader's name, the summary of what
    each measured, its review copy's note and when its peaks were written, by kind then
    name."""
    summary = FileAnalysis.objects.filter(
        audio_file=OuterRef("pk"), status=AnalysisStatus.DONE
    ).values("summary")[:1]
    note = ReviewCopy.objects.filter(audio_file=OuterRef("pk")).values("note")[:1]
    rows: QuerySet[Any] = files.values(
        *columns(AudioFile),
        "uploaded_by__id",
        *(f"uploaded_by__{name}" for name in _NAME),
        measured_summary=Subquery(summary, output_field=JSONField()),
        review_copy_note=Subquery(note),
        peaks_at=peaks_stamp(),
    ).order_by("kind", "original_name")
    return rows


def room_files(job: Job, user: User | None) -> RoomFiles:
    """The viewer's files of the job, what each measured and its review copy's note: one
    query, whatever the number of files; the sources, the versions and the comments are all
    picked from them. The query is compiled once per kind of viewer (jobs.access.visible_rows;
    a guest's once too)."""
    if user is None:
        rows = rows_compiled_once(
            "room_files:guest", lambda j: _room_rows(visible_files(Job(pk=j), None)), job.pk
        )
    else:
        rows = visible_rows(
            user,
            "room_files",
            lambda viewer, j: _room_rows(visible_files(Job(pk=j), viewer)),
            job.pk,
        )
    files: list[AudioFile] = []
    measured, notes = {}, {}
    for row in rows:
        f: AudioFile = instance_from(AudioFile, row)
        f.uploaded_by = instance_from(User, row, "uploaded_by__")
        if row["measured_summary"]:
            measured[f.pk] = _keys(row["measured_summary"])
        notes[f.pk] = row["review_copy_note"] or ""
        f.peaks_at = row["peaks_at"]  # type: ignore[attr-defined]
        files.append(f)
    return RoomFiles(files, measured, notes)


def _masters(visible: list[AudioFile]) -> list[tuple[AudioFile, str]]:
    """The newest round's masters this viewer may hear, then the round before it (`visible` in
    name order: the sort keeps it within a round)."""
    masters = sorted(
        (f for f in visible if f.kind == FileKind.MASTER and f.is_current),
        key=lambda f: -f.revision_round,
    )
    if not masters:
        return []
    newest = masters[0].revision_round
    out = [(m, f"Master · round {newest + 1}") for m in masters if m.revision_round == newest]
    out += [
        (m, f"Master · round {newest} (previous)")
        for m in masters
        if m.revision_round == newest - 1
    ]
    return out


def _keys(found: Any) -> dict[str, Any]:
    """The measurements the room shows, under the short names it uses."""
    report = report_value(found)
    return {
        "lufs": report.get("integrated_lufs"),
        "tp": report.get("true_peak_dbtp"),
        "peak": report.get("sample_peak_dbfs"),
        "fmt": report.get("format"),
        "clipping": report.get("clipping"),
    }


def _preview(visible: list[AudioFile]) -> list[tuple[AudioFile, str]]:
    """The newest levelling preview, heard beside the rough mix until there are masters."""
    previews = [f for f in visible if f.kind == FileKind.PREVIEW and f.is_current]
    if not previews:
        return []
    return [(max(previews, key=lambda f: f.uploaded_at), "Levelling preview")]


def room_picks(read: RoomFiles) -> list[tuple[AudioFile, str]]:
    """The files the player offers, with their labels, in number-key order: the masters, or
    before there are any the levelling preview if one was sent; then the rough mix and the
    references."""
    visible = read.files
    picked = _masters(visible) or _preview(visible)
    others = sorted(
        (f for f in visible if f.is_current and f.kind in (FileKind.ROUGH_MIX, FileKind.REFERENCE)),
        key=lambda f: (f.kind != FileKind.ROUGH_MIX, f.original_name),  # the rough mix first
    )
    picked += [(f, f.get_kind_display()) for f in others]
    return picked[:MAX_SOURCES]


def room_sources(job: Job, user: User | None, read: RoomFiles | None = None) -> list[Source]:
    """What the player offers this viewer (None: a guest), in number-key order (room_picks).
    `read`: the request's room_files, if already read (with the sources' peak overviews, if
    the page read them)."""
    read = read or room_files(job, user)
    picked = room_picks(read)
    files = [f for f, _ in picked]
    measured = read.measured
    overviews = read.overviews if read.overviews is not None else peak_overviews(files)
    notes = read.copy_notes
    sources = []
    for index, (f, label) in enumerate(picked):
        m = measured.get(f.pk) or {}
        sources.append(
            Source(
                key=str(index + 1),
                file=f,
                label=label,
                lufs=m.get("lufs"),
                true_peak=m.get("tp"),
                duration_s=(m.get("fmt") or {}).get("duration_s"),
                wave=file_wave(overviews, f, m),
                copy_note=notes.get(f.pk, ""),
            )
        )
    for source, gains in zip(sources, ab_gains([s.lufs for s in sources]), strict=True):
        source.gains = gains
    return sources


def sources_key(sources: list[Source]) -> str:
    """The fragment key (jobs.fragments) of the player's sources (room.html): every value it
    shows, their URLs set."""
    return content_key(*(_source_shown(s) for s in sources))


def _source_shown(s: Source) -> tuple[Any, ...]:
    f, g = s.file, s.gains
    gains = (g.matched, g.streaming, g.why) if g is not None else None
    return (s.key, f.pk, f.original_name, f.version, s.label, s.lufs, s.true_peak, s.duration_s,
            gains, s.copy_note, tuple(sorted(s.urls.items())), wave_key(s.wave))  # fmt: skip


def _readable(user: User | None, comments: QuerySet[Comment]) -> QuerySet[Comment]:
    """Of these comments, those this viewer may read: the studio all, the client (and a guest,
    user None) only those shared with the client."""
    if user is None or not user.is_studio:
        return comments.filter(visibility=Visibility.CLIENT)
    return comments


def comments_visible_to(
    user: User | None, job: Job, visible: list[AudioFile] | None = None
) -> QuerySet[Comment]:
    """The job's comments this viewer may read (`_readable`), on files they may see
    (`visible`, if already read)."""
    comments = _readable(user, Comment.objects.filter(job=job))
    if visible is not None:
        return comments.filter(audio_file_id__in=[f.pk for f in visible])
    return comments.filter(audio_file__in=visible_files(job, user))


def _comment_rows(comments: QuerySet[Comment]) -> QuerySet[Any]:
    """Comments as the room shows them, as rows: their own fields, and of the author (a user
    or a guest) only the name; by file name, moment and time."""
    rows: QuerySet[Any] = comments.values(
        *columns(Comment),
        "author__id",
        *(f"author__{name}" for name in _NAME),
        "guest__id",
        "guest__label",
    ).order_by("audio_file__original_name", "start_s", "created_at", "id")
    return rows


def _comment_from(row: dict[str, Any]) -> Comment:
    comment: Comment = instance_from(Comment, row)
    comment.author = related_from(User, row, "author__")
    comment.guest = related_from(GuestLink, row, "guest__")
    return comment


def room_comments(
    user: User | None, job: Job, files: list[AudioFile], visible: list[AudioFile]
) -> list[Comment]:
    """Top-level comments on `files`, oldest moment first, each with its readable replies
    (`visible_replies`, oldest first), on the viewer's files (`visible`, as room_files read
    them). The job's comments the viewer may read come in one query, compiled once for the
    studio and once for clients and guests (jobs.compiled); the files sort them out here."""
    studio = user is not None and user.is_studio
    rows = rows_compiled_once(
        f"room_comments:{'studio' if studio else 'client'}",
        lambda j: _comment_rows(_readable(user, Comment.objects.filter(job_id=j))),
        job.pk,
    )
    on_files = {f.pk: f for f in files}
    seen = {f.pk for f in visible}
    comments: list[Comment] = []
    replies: dict[int, list[Comment]] = {}
    for row in rows:
        if row["audio_file_id"] not in seen:
            continue
        comment = _comment_from(row)
        if comment.parent_id is not None:
            replies.setdefault(comment.parent_id, []).append(comment)
        elif comment.audio_file_id in on_files:
            comment.audio_file = on_files[comment.audio_file_id]  # already read: no second copy
            comments.append(comment)
    for comment in comments:
        found = replies.get(comment.pk, [])
        comment.visible_replies = sorted(found, key=lambda r: r.created_at)  # type: ignore[attr-defined]
    return comments


def _open_rows(job_id: Any, revision_round: int) -> QuerySet[Any]:
    rows: QuerySet[Any] = (
        Comment.objects.filter(job_id=job_id, parent__isnull=True, resolved_at__isnull=True)
        .filter(Q(requested_in_round=revision_round) | Q(requested_in_round__isnull=True))
        .values(*columns(Comment), *columns(User, "author__"), *columns(AudioFile, "audio_file__"))
        .order_by("-requested_in_round", "audio_file__original_name", "start_s")
    )
    return rows


def open_comments_for_round(job: Job) -> list[Comment]:
    """What the studio still has to act on this round: every open top-level comment, those the
    client sent with the revision request first; each with its author and file (as
    select_related loads them), from SQL compiled once."""
    comments = []
    for row in rows_compiled_once("open_comments", _open_rows, job.pk, job.revision_round):
        comment: Comment = instance_from(Comment, row)
        comment.author = related_from(User, row, "author__")
        comment.audio_file = instance_from(AudioFile, row, "audio_file__")
        comments.append(comment)
    return comments


def _link_rows(job_id: Any) -> QuerySet[Any]:
    rows: QuerySet[Any] = GuestLink.objects.filter(job_id=job_id).values(
        *columns(GuestLink), *columns(User, "created_by__")
    )
    return rows


def job_guest_links(job: Job) -> list[GuestLink]:
    """The job's guest links, newest first, each with who made it, from SQL compiled once."""
    links = []
    for row in rows_compiled_once("guest_links", _link_rows, job.pk):
        link: GuestLink = instance_from(GuestLink, row)
        link.created_by = instance_from(User, row, "created_by__")
        links.append(link)
    return links


@dataclass
class Version:
    file: AudioFile
    lufs: float | None = None
    true_peak: float | None = None
    peak: float | None = None
    duration_s: float | None = None


@dataclass
class Lineage:
    """One file as it was handed in again and again: every version, newest first."""

    name: str
    kind: str
    versions: list[Version] = field(default_factory=list)


def file_versions(job: Job, user: User | None, read: RoomFiles | None = None) -> list[Lineage]:
    """Every version of every file this viewer may see, with what each measured; nothing is
    ever overwritten, so an old version is still there to compare and download. `read`: the
    request's room_files, if already read."""
    read = read or room_files(job, user)
    files, measured = read.files, read.measured
    lineages: dict[Any, Lineage] = {}
    for f in files:
        m = measured.get(f.pk) or {}
        line = lineages.setdefault(f.lineage, Lineage(f.original_name, f.get_kind_display()))
        line.versions.append(
            Version(
                f, m.get("lufs"), m.get("tp"), m.get("peak"), (m.get("fmt") or {}).get("duration_s")
            )
        )
    for line in lineages.values():
        line.versions.sort(key=lambda v: -v.file.version)
        line.name = line.versions[0].file.original_name
    return list(lineages.values())


def versions_key(lines: list[Lineage]) -> str:
    """The fragment key (jobs.fragments) of the versions table: every value it shows."""
    return content_key(
        *((line.name, line.kind, *(_version_shown(v) for v in line.versions)) for line in lines)
    )


def _version_shown(v: Version) -> tuple[Any, ...]:
    f, by = v.file, v.file.uploaded_by
    return (
        f.pk, f.is_current, f.version, f.kind, f.revision_round, f.size_bytes, f.sha256,
        f.uploaded_at, by.first_name, by.last_name, by.username, v.lufs, v.true_peak,
    )  # fmt: skip
