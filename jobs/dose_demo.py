"""Demo data for the sound dose: each engineer's monitor calibration, a monitoring level on the
past week's listening (Ben monitors louder and runs over the day's dose once), and a session
earlier today so the desk shows today's dose. Like the week behind it, that session is history
only: the stages' logged time (and so the plan the demo's deadline states come from) is left as
the jobs set it."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from jobs.dose import dose_percent
from jobs.models import (
    EngineerProfile,
    ListeningSession,
    Stage,
    StageStatus,
    User,
)

# Per engineer: what pink noise at -20 dBFS reads, the usual level, and the levels of the past
# week's sessions, most recent first.
CALIBRATION = {
    "ada": (83.0, 83.0, [82.0, 83.0, 84.0, 82.0, 83.0]),
    "ben": (85.0, 87.0, [85.0, 88.0, 86.0, 84.0, 87.0]),
}
TODAY_MINUTES = 70


def dose_demo_seed(*, engineers: dict[str, User]) -> None:
    now = timezone.now()
    for username, (calibration, usual, levels) in CALIBRATION.items():
        engineer = engineers[username]
        EngineerProfile.objects.update_or_create(
            user=engineer,
            defaults={"calibration_spl_db": calibration, "monitoring_level_db": usual},
        )
        past = ListeningSession.objects.filter(engineer=engineer).order_by("-started_at")
        for session, level in zip(past, levels, strict=False):
            session.levels = [[session.started_at.isoformat(), level]]
            session.dose_percent = dose_percent([(level, session.work_seconds / 60)])
            session.save(update_fields=["levels", "dose_percent"])
        stage = (
            Stage.objects.filter(assignee=engineer, status=StageStatus.IN_PROGRESS)
            .order_by("pk")
            .first()
        )
        if stage is None:
            continue
        start = now - timedelta(minutes=TODAY_MINUTES + 45)
        ListeningSession.objects.create(
            engineer=engineer,
            stage=stage,
            started_at=start,
            ended_at=start + timedelta(minutes=TODAY_MINUTES),
            work_seconds=TODAY_MINUTES * 60,
            levels=[[start.isoformat(), usual]],
            dose_percent=dose_percent([(usual, TODAY_MINUTES)]),
        )
