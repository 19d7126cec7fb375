"""The review room's access helpers: the object the viewer may see, or 404 (never a 403 that
would tell an outsider the object exists)."""

from __future__ import annotations

from django.http import Http404

from jobs.access import jobs_visible_to
from jobs.models import User
from jobs.review.models import Comment, GuestLink
from jobs.review.room import comments_visible_to


def comment_for(user: User, comment_id: int | str) -> Comment:
    try:
        comment = Comment.objects.select_related("job", "audio_file").get(
            pk=comment_id, job__in=jobs_visible_to(user)
        )
    except (Comment.DoesNotExist, ValueError):
        raise Http404("No such comment") from None
    if not comments_visible_to(user, comment.job).filter(pk=comment.pk).exists():
        raise Http404("No such comment")
    return comment


def guest_link_for(user: User, link_id: int | str) -> GuestLink:
    """A guest link of a job the user may see (its client, or the studio)."""
    try:
        return GuestLink.objects.select_related("job").get(
            pk=link_id, job__in=jobs_visible_to(user)
        )
    except (GuestLink.DoesNotExist, ValueError):
        raise Http404("No such link") from None
