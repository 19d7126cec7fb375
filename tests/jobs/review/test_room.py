"""What the player offers: this round's master, the previous round's, the rough mix and the
references, with the gains the server computed; a client never hears an undelivered master."""

from __future__ import annotations

import pytest
from django.test import Client

from jobs.models import User
from jobs.review.room import room_sources
from jobs.services import job_deliver, job_request_revision
from tests.jobs.helpers import master_wav, upload_master, work_through
from tests.jobs.review.conftest import Delivered

pytestmark = pytest.mark.django_db


def test_round_two_is_compared_with_round_one_and_the_rough_mix(
    delivered: Delivered, client_user: User, engineer: User
) -> None:
    job = delivered.job
    job_request_revision(job=job, by=client_user, note="Vocal up")
    work_through(job, engineer)
    second = upload_master(job, engineer, content=master_wav(-2.0, seconds=3.0))
    # Before delivery the client hears round 1 only; the studio already hears round 2.
    assert [s.label for s in room_sources(job, client_user)][:1] == ["Master · round 1"]
    assert room_sources(job, engineer)[0].file == second
    job_deliver(job=job, by=engineer)
    job.refresh_from_db()

    sources = room_sources(job, client_user)
    assert [(s.key, s.label) for s in sources] == [
        ("1", "Master · round 2"),
        ("2", "Master · round 1 (previous)"),
        ("3", "Rough mix"),
    ]
    assert [s.file for s in sources] == [second, delivered.master, delivered.rough]
    quietest = min(s.lufs for s in sources if s.lufs is not None)
    for s in sources:
        assert s.gains is not None and s.gains.matched == pytest.approx(
            min(0.0, quietest - s.lufs), abs=0.01
        )
    c = Client()
    c.force_login(client_user)
    page = c.get(f"/jobs/{job.pk}/").content.decode()
    assert page.count("data-source ") == 3 and 'preload="none"' in page
