"""Demo data for the manager's pages: a week of listening sessions and ear breaks behind the
engineers (so break compliance has something to show), a fresh-ears override, days off ahead
and one change in the policy history."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.utils import timezone

from jobs.models import (
    BreakOutcome,
    EarBreak,
    EngineerDayOff,
    EventKind,
    JobEvent,
    ListeningSession,
    PolicyChange,
    Stage,
    StageKind,
    StudioDayOff,
    StudioPolicy,
    User,
)

# Minutes listened per working day over the past week, per engineer: Ben ran over the cap once.
DAYS = {"ada": [240, 310, 180, 295, 260], "ben": [330, 385, 200, 150, 340]}


def manager_demo_seed(*, engineers: dict[str, User], manager: User) -> None:
    policy = StudioPolicy.current()
    zone = ZoneInfo(policy.timezone)
    today = timezone.localdate()
    for username, minutes_per_day in DAYS.items():
        engineer = engineers[username]
        stage = Stage.objects.filter(assignee=engineer).order_by("pk").first()
        if stage is None:
            continue
        day = today - timedelta(days=1)
        for i, minutes in enumerate(minutes_per_day):
            while day.weekday() >= 5:
                day -= timedelta(days=1)
            start = datetime.combine(day, time(9, 30), tzinfo=zone)
            ListeningSession.objects.create(
                engineer=engineer,
                stage=stage,
                started_at=start,
                ended_at=start + timedelta(minutes=minutes + 40),
                work_seconds=minutes * 60,
            )
            for n in range(minutes // 50):
                skipped = (n + i) % (4 if username == "ada" else 3) == 0
                at = start + timedelta(minutes=50 * (n + 1))
                EarBreak.objects.create(
                    engineer=engineer,
                    kind="short",
                    outcome=BreakOutcome.SKIPPED if skipped else BreakOutcome.TAKEN,
                    prompted_at=at,
                    started_at=None if skipped else at,
                    ended_at=None if skipped else at + timedelta(minutes=10),
                    planned_minutes=10,
                )
            day -= timedelta(days=1)
    _days_off_and_an_override(engineers, manager, today)
    PolicyChange.objects.create(
        actor=manager,
        at=timezone.now() - timedelta(days=3),
        field="at_risk_margin_hours",
        from_value="2",
        to_value=str(policy.at_risk_margin_hours),
    )


def _days_off_and_an_override(engineers: dict[str, User], manager: User, today: date) -> None:
    """Ben's dentist next week, the studio closed for a day later on, and a glue stage the
    manager let Ada start without her fresh-ears break (as the desk records it)."""
    ahead = today + timedelta(days=7)
    while ahead.weekday() >= 5:
        ahead += timedelta(days=1)
    EngineerDayOff.objects.get_or_create(
        engineer=engineers["ben"], date=ahead, defaults={"reason": "dentist"}
    )
    StudioDayOff.objects.get_or_create(
        date=ahead + timedelta(days=14), defaults={"reason": "studio maintenance"}
    )
    glue = (
        Stage.objects.filter(
            assignee=engineers["ada"],
            kind=StageKind.GLUE_FINAL_LEVEL,
            started_at__isnull=False,
        )
        .order_by("started_at")
        .first()
    )
    if glue is not None and glue.started_at is not None:
        JobEvent.objects.create(
            job_id=glue.job_id,
            at=glue.started_at,
            actor=manager,
            kind=EventKind.STAGE,
            subject=glue.kind,
            from_value="fresh ears",
            to_value=f"overridden for {engineers['ada'].username}",
            note="the client's attended session was booked for that hour",
        )
