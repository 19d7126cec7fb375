"""The studio policy is read through the cache: every page reads it, it changes rarely, and a
change is seen at once by the next read."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from jobs.models import StudioPolicy
from jobs.models.policy import POLICY_CACHE_KEY
from jobs.timeline import studio_tz

pytestmark = pytest.mark.django_db


@pytest.mark.django_db(transaction=True)  # the row committed, as in a studio running
def test_a_second_read_asks_the_database_nothing() -> None:
    StudioPolicy.current()
    with CaptureQueriesContext(connection) as ctx:
        policy = StudioPolicy.current()
        studio_tz()
    assert policy.pk == 1
    assert len(ctx.captured_queries) == 0


def test_a_saved_change_is_read_back_at_once() -> None:
    policy = StudioPolicy.current()
    policy.promise_days = 5
    policy.timezone = "America/New_York"
    policy.save()
    assert StudioPolicy.current().promise_days == 5
    assert str(studio_tz()) == "America/New_York"


def test_a_change_rolled_back_is_not_kept() -> None:
    StudioPolicy.current()
    with pytest.raises(RuntimeError), transaction.atomic():
        policy = StudioPolicy.objects.select_for_update().get(pk=1)
        policy.promise_days = 9
        policy.save()
        assert StudioPolicy.current().promise_days == 9  # the writer sees its own change
        raise RuntimeError("the form failed")
    assert StudioPolicy.current().promise_days == 3


@pytest.mark.django_db(transaction=True)
def test_a_read_cached_before_the_commit_is_dropped_when_it_commits() -> None:
    StudioPolicy.current()
    with transaction.atomic():
        policy = StudioPolicy.objects.select_for_update().get(pk=1)
        policy.promise_days = 4
        policy.save()
        # Another page read the row as committed so far (the old promise) and cached it.
        old = StudioPolicy.objects.get(pk=1)
        old.promise_days = 3
        cache.set(POLICY_CACHE_KEY, old)
    assert StudioPolicy.current().promise_days == 4
    with CaptureQueriesContext(connection) as ctx:
        assert StudioPolicy.current().promise_days == 4
    assert len(ctx.captured_queries) == 0  # and cached again once committed


def test_reading_makes_no_row_and_deleting_forgets_it() -> None:
    assert StudioPolicy.read() is None
    assert not StudioPolicy.objects.exists()
    assert str(studio_tz()) == "Europe/London"
    StudioPolicy.current().delete()
    assert StudioPolicy.read() is None
    assert StudioPolicy.current().pk == 1  # made again with its defaults
