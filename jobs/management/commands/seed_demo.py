"""`python manage.py seed_demo`: a demo studio with a manager, two engineers, two clients and
jobs in every state, each with real audio made by numpy. Running it again changes nothing."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from django.core.files.base import ContentFile
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from jobs import demo_audio
from jobs.models import (
    DEFAULT_CHECKLISTS,
    STAGE_ORDER,
    AudioFile,
    EngineerProfile,
    EventKind,
    FileKind,
    Job,
    JobEvent,
    JobStatus,
    Organisation,
    Role,
    Stage,
    StageStatus,
    StudioPolicy,
    User,
    Verdict,
)

DEMO_PASSWORD = "headroom-demo"
LOGINS = [
    ("manager", Role.MANAGER, "Maya Lindqvist", None),
    ("ada", Role.ENGINEER, "Ada Okafor", None),
    ("ben", Role.ENGINEER, "Ben Castillo", None),
    ("nova", Role.CLIENT, "Nia Vance", "Nova Records"),
    ("echo", Role.CLIENT, "Elliot Cho", "Echo Park Collective"),
]


@dataclass
class DemoJob:
    title: str
    artist: str
    client: str
    status: str
    verdict: str = ""
    accepted_days_ago: float | None = None
    stages_done: int = 0  # stages finished in the current round
    defect: str = ""  # "clipped_bass" or "short_keys": a stem exported wrong
    masters: bool = False
    revision_round: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


JOBS = [
    DemoJob("Midnight Drive", "Nia Vance", "nova", JobStatus.DRAFT),
    DemoJob("Carousel", "Nia Vance", "nova", JobStatus.SUBMITTED),
    DemoJob("Lanterns", "Elliot Cho", "echo", JobStatus.ANALYSING),
    DemoJob(
        "Glass Harbour",
        "Elliot Cho",
        "echo",
        JobStatus.AWAITING_CLIENT,
        Verdict.REEXPORT_REQUESTED,
        defect="clipped_bass",
    ),
    DemoJob("Slow Bloom", "Elliot Cho", "echo", JobStatus.ACCEPTED, Verdict.ACCEPTED, 0.2),
    DemoJob(
        "Paper Planes",
        "Nia Vance",
        "nova",
        JobStatus.IN_PROGRESS,
        Verdict.ACCEPTED_WITH_WARNINGS,
        1.0,
        stages_done=2,
    ),
    DemoJob("Copper Sky", "Nia Vance", "nova", JobStatus.IN_PROGRESS, Verdict.ACCEPTED, 2.6, 1),
    DemoJob("Undertow", "Elliot Cho", "echo", JobStatus.IN_PROGRESS, Verdict.ACCEPTED, 3.5, 4),
    DemoJob(
        "Northern Line",
        "Nia Vance",
        "nova",
        JobStatus.DELIVERED,
        Verdict.ACCEPTED,
        2.0,
        6,
        masters=True,
    ),
    DemoJob(
        "Open Water",
        "Elliot Cho",
        "echo",
        JobStatus.REVISION_REQUESTED,
        Verdict.ACCEPTED,
        4.0,
        0,
        masters=True,
        revision_round=1,
    ),
    DemoJob(
        "Tidal", "Elliot Cho", "echo", JobStatus.APPROVED, Verdict.ACCEPTED, 6.0, 6, masters=True
    ),
    DemoJob("Static Hearts", "Nia Vance", "nova", JobStatus.ON_HOLD, Verdict.ACCEPTED, 1.5, 1),
    DemoJob("Fever Dream", "Elliot Cho", "echo", JobStatus.DECLINED, Verdict.DECLINED),
    DemoJob("Last Light", "Nia Vance", "nova", JobStatus.CANCELLED),
]


class Command(BaseCommand):
    help = "Create the demo studio (idempotent) and print the demo logins."

    def handle(self, *args: Any, **options: Any) -> None:
        if User.objects.filter(username="manager").exists():
            self.stdout.write("Demo studio already present.")
        else:
            with transaction.atomic():
                self._seed()
            self.stdout.write(self.style.SUCCESS(f"Demo studio created: {len(JOBS)} jobs."))
        self.stdout.write(f"Demo logins (password {DEMO_PASSWORD!r}):")
        for username, role, name, org in LOGINS:
            where = f", {org}" if org else ""
            self.stdout.write(f"  {username:<8} {role.label}: {name}{where}")
        self.stdout.write("Admin: log in as 'manager' at /admin/.")

    def _seed(self) -> None:
        StudioPolicy.current()
        users: dict[str, User] = {}
        for username, role, name, org_name in LOGINS:
            org = Organisation.objects.get_or_create(name=org_name)[0] if org_name else None
            first, last = name.split(" ", 1)
            user = User(
                username=username,
                role=role,
                organisation=org,
                first_name=first,
                last_name=last,
                email=f"{username}@headroom.invalid",
                is_staff=role == Role.MANAGER,
                is_superuser=role == Role.MANAGER,
            )
            user.set_password(DEMO_PASSWORD)
            user.save()
            if role == Role.ENGINEER:
                EngineerProfile.objects.create(user=user)
            users[username] = user
        engineers = [users["ada"], users["ben"]]
        now = timezone.now()
        for index, spec in enumerate(JOBS):
            self._job(spec, users, engineers[index % 2], now, seed=index)

    def _job(
        self, spec: DemoJob, users: dict[str, User], engineer: User, now: datetime, seed: int
    ) -> None:
        client = users[spec.client]
        manager = users["manager"]
        assert client.organisation is not None
        created = now - timedelta(days=(spec.accepted_days_ago or 0) + 0.5)
        job = Job.objects.create(
            organisation=client.organisation,
            created_by=client,
            track_title=spec.title,
            artist=spec.artist,
            created_at=created,
            reference_notes="Bass-to-vocal balance of the reference; keep the vocal upfront.",
        )
        self._event(job, client, EventKind.STATUS, "", JobStatus.DRAFT, created)
        stems = {name: demo_audio.stem(name, seed=seed) for name in demo_audio.INSTRUMENTS}
        for name, data in stems.items():
            if spec.defect == "clipped_bass" and name == "Bass":
                data = demo_audio.hard_clip(data, 12)
            self._file(job, client, FileKind.STEM, f"{name} - {spec.title}.wav", data)
        if spec.status != JobStatus.DECLINED:  # the declined job shows no direction at all
            self._file(
                job,
                client,
                FileKind.ROUGH_MIX,
                f"{spec.title} rough mix.wav",
                demo_audio.mix(list(stems.values())),
            )
            self._file(
                job,
                client,
                FileKind.REFERENCE,
                "Reference - Night Swim.wav",
                self._reference(),
            )
        else:
            job.reference_notes = ""
        if spec.status == JobStatus.DRAFT:
            job.save()
            return

        job.submitted_at = created + timedelta(minutes=20)
        self._event(
            job, client, EventKind.STATUS, JobStatus.DRAFT, JobStatus.SUBMITTED, job.submitted_at
        )
        if spec.status in (JobStatus.SUBMITTED, JobStatus.ANALYSING, JobStatus.CANCELLED):
            job.status = spec.status
            if spec.status == JobStatus.CANCELLED:
                job.closed_at = job.submitted_at + timedelta(hours=1)
                self._event(
                    job,
                    manager,
                    EventKind.STATUS,
                    JobStatus.SUBMITTED,
                    spec.status,
                    job.closed_at,
                    "Client withdrew the track",
                )
            job.save()
            return

        job.verdict = spec.verdict
        self._event(
            job, None, EventKind.VERDICT, "", spec.verdict, job.submitted_at + timedelta(minutes=1)
        )
        if spec.status == JobStatus.AWAITING_CLIENT:
            job.status = spec.status
            job.save()
            return
        if spec.status == JobStatus.DECLINED:
            job.status = spec.status
            job.verdict_overridden_by = manager
            job.verdict_reason = "Highly experimental, no rough mix or reference: not our fit."
            job.closed_at = job.submitted_at + timedelta(hours=2)
            job.save()
            return

        assert spec.accepted_days_ago is not None
        job.accepted_at = now - timedelta(days=spec.accepted_days_ago)
        job.promise_days = 3
        job.due_at = job.accepted_at + timedelta(days=3)
        job.revision_round = spec.revision_round
        self._event(
            job, None, EventKind.STATUS, JobStatus.ANALYSING, JobStatus.ACCEPTED, job.accepted_at
        )
        self._event(job, None, EventKind.DEADLINE, "", job.due_at.isoformat(), job.accepted_at)
        rounds = range(spec.revision_round + 1)
        for rnd in rounds:
            done = 6 if rnd < spec.revision_round else spec.stages_done
            self._stages(job, engineer, rnd, done, job.accepted_at + timedelta(days=rnd))
        if spec.masters:
            self._file(
                job,
                engineer,
                FileKind.MASTER,
                f"{spec.title} (master).wav",
                demo_audio.master(list(stems.values())),
                revision_round=0,
            )
        job.status = spec.status
        if spec.status == JobStatus.ON_HOLD:
            job.status_before_hold = JobStatus.IN_PROGRESS
            job.paused_at = now - timedelta(hours=6)
        if spec.status in (JobStatus.DELIVERED, JobStatus.APPROVED):
            job.delivered_at = job.accepted_at + timedelta(days=2)
        if spec.status == JobStatus.APPROVED:
            job.closed_at = job.accepted_at + timedelta(days=2, hours=5)
        if spec.status == JobStatus.REVISION_REQUESTED:
            job.delivered_at = job.accepted_at + timedelta(days=2)
            job.due_at = now + timedelta(days=2)
        if job.due_at < now and job.status in (JobStatus.IN_PROGRESS, JobStatus.ACCEPTED):
            job.deadline_status = "overdue"
        elif spec.stages_done <= 1 and spec.accepted_days_ago > 2:
            job.deadline_status = "at_risk"
        self._event(
            job,
            engineer,
            EventKind.STATUS,
            JobStatus.ACCEPTED,
            job.status,
            now - timedelta(hours=1),
        )
        job.save()

    def _reference(self) -> np.ndarray:
        if not hasattr(self, "_reference_audio"):
            self._reference_audio = demo_audio.master(
                [demo_audio.stem(name, seed=99) for name in demo_audio.INSTRUMENTS]
            )
        return self._reference_audio

    def _stages(self, job: Job, engineer: User, rnd: int, done: int, start: datetime) -> None:
        at = start
        for position, kind in enumerate(STAGE_ORDER):
            stage = Stage(
                job=job,
                kind=kind,
                position=position,
                revision_round=rnd,
                assignee=engineer,
                checklist=[
                    {"item": item, "done": position < done} for item in DEFAULT_CHECKLISTS[kind]
                ],
            )
            if position < done:
                stage.status = StageStatus.DONE
                stage.started_at, stage.finished_at = at, at + timedelta(hours=1)
                stage.work_seconds = 3000
                stage.notes = (
                    "Done; nothing unusual." if position else "Warm low end, vocal forward."
                )
                at += timedelta(hours=2)
            elif position == done and job.status != JobStatus.ACCEPTED and done < 6:
                stage.status = StageStatus.IN_PROGRESS
                stage.started_at = at
            stage.save()

    def _file(
        self, job: Job, by: User, kind: str, name: str, data: np.ndarray, revision_round: int = 0
    ) -> AudioFile:
        content = demo_audio.wav(data)
        audio = AudioFile(
            job=job,
            kind=kind,
            original_name=name,
            sha256=hashlib.sha256(content).hexdigest(),
            size_bytes=len(content),
            uploaded_by=by,
            revision_round=revision_round,
        )
        audio.file.save(name, ContentFile(content), save=False)
        audio.save()
        return audio

    def _event(
        self,
        job: Job,
        actor: User | None,
        kind: str,
        old: str,
        new: str,
        at: datetime,
        note: str = "",
    ) -> None:
        JobEvent.objects.create(
            job=job, actor=actor, kind=kind, from_value=old, to_value=new, at=at, note=note
        )
