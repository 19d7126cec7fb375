"""What the job page (and the guest page) needs of the review room, in one dictionary: the
sources with their URLs and gains, the comments, and what this viewer may do there."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.urls import get_script_prefix, get_urlconf, reverse

from jobs.models import AudioFile, Job, JobStatus, User
from jobs.review.comments import requestable_comments
from jobs.review.gain import MODES, STREAMING_TARGET_LUFS
from jobs.review.models import GuestLink, Visibility
from jobs.review.room import (
    RoomFiles,
    file_versions,
    job_guest_links,
    open_comments_for_round,
    room_comments,
    room_files,
    room_sources,
    sources_key,
    versions_key,
)

GAIN_MODES = {
    "matched": "Matched loudness",
    "unmatched": "As mastered",
    "streaming": f"Streaming preview ({STREAMING_TARGET_LUFS:g} LUFS)",
}
assert set(GAIN_MODES) == set(MODES)


def member_urls(audio: AudioFile) -> dict[str, str]:
    at = str(audio.pk)
    patterns = _member_patterns(get_script_prefix(), get_urlconf() or settings.ROOT_URLCONF)
    return {name: url.replace(_ANY_FILE, at) for name, url in patterns}


_ANY_FILE = str(uuid.UUID(int=0))  # stands for the file's id in _member_patterns


@lru_cache(maxsize=16)
def _member_patterns(prefix: str, urlconf: str) -> tuple[tuple[str, str], ...]:
    """The member's URLs of a file, reversed once for a stand-in id: three reverse() calls per
    source were a fifth of the room's Python. They depend only on the URL patterns (fixed once
    loaded) and the script prefix, which key them (as studio.nav does)."""
    return tuple(
        (name, reverse(f"file_{name}", args=[_ANY_FILE], urlconf=urlconf))
        for name in ("stream", "peaks", "download")
    )


def room_context(
    job: Job,
    user: User | None,
    *,
    guest: GuestLink | None = None,
    urls: Callable[[AudioFile], dict[str, str]] = member_urls,
    comment_action: str | None = None,
    read: RoomFiles | None = None,
) -> dict[str, Any]:
    """`read`: the request's room_files, if the page already read them."""
    # Once: the sources, the comments and the versions share it.
    read = read if read is not None else room_files(job, user)
    sources = room_sources(job, user, read)
    for source in sources:
        source.urls = urls(source.file)
    studio = user is not None and user.is_studio
    is_client = user is not None and user.is_client_of(job)
    if guest is not None:
        can_comment = guest.can_comment and guest.state() == "active"
    else:
        can_comment = studio or is_client
    room: dict[str, Any] = {
        "sources": sources,
        "sources_key": sources_key(sources),
        "comments": room_comments(user, job, [s.file for s in sources], read.files),
        "studio": studio,
        "guest": guest,
        "can_comment": can_comment and bool(sources),
        "visibilities": Visibility.choices,
        "gain_modes": list(GAIN_MODES.items()),
        "comment_action": comment_action or reverse("comment_create", args=[job.pk]),
        "markers_url": None if guest is not None else reverse("comment_markers", args=[job.pk]),
    }
    if guest is None:
        room["versions"] = file_versions(job, user, read)
        room["version_count"] = sum(len(line.versions) for line in room["versions"])
        room["versions_key"] = versions_key(room["versions"])
    if is_client and job.status == JobStatus.DELIVERED:
        room["revision_comments"] = list(
            requestable_comments(job).select_related("audio_file", "author", "guest")
        )
    if studio:
        room["open_comments"] = open_comments_for_round(job)
    if user is not None and guest is None and (user.is_manager or is_client):
        room["show_guests"] = True
        room["guest_links"] = job_guest_links(job)
        room["can_share"] = job.delivered_at is not None or job.revision_round > 0
        room["may_hand_on_approval"] = is_client
    return {"room": room}
