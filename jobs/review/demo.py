"""The review room's part of the demo studio: comments on the delivered `Northern Line` (the
client's, a studio reply, an internal note) and a guest link for its artist, all through the
review room's services. Its token is derived from SECRET_KEY, so `seed_demo` can print the same
link every time it runs on the same installation."""

from __future__ import annotations

import base64
import hashlib
import hmac

from django.conf import settings
from django.utils import timezone

from jobs.models import FileKind, Job, User
from jobs.review.comments import comment_add, comment_reply
from jobs.review.guests import guest_event, token_hash
from jobs.review.models import Comment, GuestLink, Visibility

DEMO_JOB = "Northern Line"


def demo_guest_token() -> str:
    digest = hmac.new(settings.SECRET_KEY.encode(), b"demo guest link", hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def review_demo_seed(*, client: User, engineer: User) -> None:
    job = Job.objects.filter(track_title=DEMO_JOB).first()
    if job is None or Comment.objects.filter(job=job).exists():
        return
    master = job.files.filter(kind=FileKind.MASTER, is_current=True).first()
    rough = job.files.filter(kind=FileKind.ROUGH_MIX, is_current=True).first()
    if master is None:
        return
    vocal = comment_add(
        audio=master,
        by=client,
        text="The vocal sits a touch low here against the keys; could it come up a little?",
        start_s=1.2,
        end_s=2.6,
    )
    comment_add(audio=master, by=client, text="Love how the kick lands here.", start_s=0.5)
    comment_reply(
        parent=vocal, by=engineer, text="Happy to: about +0.5 dB on the vocal in a revision."
    )
    comment_add(
        audio=master,
        by=engineer,
        text="Limiter works hardest on this hit; keep an eye on the snare if we revise.",
        start_s=3.1,
        visibility=Visibility.INTERNAL,
    )
    if rough is not None:
        comment_add(
            audio=rough,
            by=engineer,
            text="Rough mix reference point for the vocal level.",
            start_s=1.2,
            end_s=2.6,
            visibility=Visibility.INTERNAL,
        )
    token = demo_guest_token()
    link = GuestLink.objects.create(
        job=job,
        label="Jo Marsh (artist)",
        token_hash=token_hash(token),
        token_hint=token[-4:],
        can_comment=True,
        created_by=client,
        created_at=timezone.now(),
    )
    guest_event(link, "shared", "Rights: listen, comment (demo data)")


def demo_guest_path() -> str:
    return f"/review/{demo_guest_token()}/"
