"""Demo data for the manager's pages: a week of listening sessions and ear breaks behind the
engineers (so break compliance has something to show) and one change in the policy history."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.utils import timezone

from jobs.models import (
    BreakOutcome,
    EarBreak,
    ListeningSession,
    PolicyChange,
    Stage,
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
    PolicyChange.objects.create(
        actor=manager,
        at=timezone.now() - timedelta(days=3),
        field="at_risk_margin_hours",
        from_value="2",
        to_value=str(policy.at_risk_margin_hours),
    )
