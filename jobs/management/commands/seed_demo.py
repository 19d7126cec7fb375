"""`python manage.py seed_demo`: a demo studio with a manager, two engineers, two clients and
jobs in every state, each with real audio made by numpy. Every job goes through the real code, as
a client's and the studio's would: files are added by the upload services, measured by the intake
pipeline (tasks in process on the embedded default), verdicts come from those measurements, and
every later move goes through the workflow services, so the history is the one the product
writes. Two jobs then have their clock moved back a few days, said
in their history, so the board shows an at-risk and an overdue job. Running it again changes
nothing."""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import numpy as np
from django.core.management.base import BaseCommand, CommandError
from django.db.models import F
from django.test.utils import override_settings

from analysis.services import intake_submit, master_add, preview_add
from jobs import demo_audio, services
from jobs.dose_demo import dose_demo_seed
from jobs.manager_demo import manager_demo_seed
from jobs.models import (
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
    StudioPolicy,
    User,
    Verdict,
)
from jobs.plan_store import plan_refresh
from jobs.review.demo import demo_guest_path, review_demo_seed
from jobs.uploads import audio_file_add

DEMO_PASSWORD = "headroom-demo"
LOGINS = [
    ("manager", Role.MANAGER, "Maya Lindqvist", None),
    ("ada", Role.ENGINEER, "Ada Okafor", None),
    ("ben", Role.ENGINEER, "Ben Castillo", None),
    ("nova", Role.CLIENT, "Nia Vance", "Nova Records"),
    ("echo", Role.CLIENT, "Elliot Cho", "Echo Park Collective"),
]
STAGE_NOTES = {
    "listening": "Warm low end in the reference; keep the vocal forward as in the rough mix.",
    "cleanup": "Every stem soloed; a click at 0:02 on the keys removed.",
    "level_balancing": "Bass down 1 dB against the kick.",
    "eq_enhancement": "Cut 300 Hz on the guitars, light tape saturation on the bus.",
    "glue_final_level": "2 dB of bus compression; -10 LUFS integrated, -1.0 dBTP.",
    "delivery": "Compared against the reference and the rough mix.",
}


@dataclass
class DemoJob:
    title: str
    client: str
    status: str  # where the job ends up
    verdict: str = ""  # what intake must say of the demo audio (checked)
    defect: str = ""  # "clipped", "minor_clips", "short_stem", "no_vision": an export mistake
    stages_done: int = 0
    backdate_days: float = 0.0
    preview: bool = False  # minor clipping: the studio sent a levelling preview to answer


JOBS = [
    DemoJob("Midnight Drive", "nova", JobStatus.DRAFT),
    DemoJob("Carousel", "nova", JobStatus.SUBMITTED),
    DemoJob("Lanterns", "echo", JobStatus.ANALYSING),
    DemoJob(
        "Glass Harbour", "echo", JobStatus.AWAITING_CLIENT, Verdict.REEXPORT_REQUESTED, "clipped"
    ),
    DemoJob(
        "Blue Hour",
        "nova",
        JobStatus.AWAITING_CLIENT,
        Verdict.ACCEPTED_WITH_WARNINGS,
        "minor_clips",
    ),
    DemoJob(
        "Afterglow",
        "echo",
        JobStatus.AWAITING_CLIENT,
        Verdict.ACCEPTED_WITH_WARNINGS,
        "minor_clips",
        preview=True,
    ),
    DemoJob("Slow Bloom", "echo", JobStatus.ACCEPTED, Verdict.ACCEPTED),
    DemoJob(
        "Paper Planes",
        "nova",
        JobStatus.IN_PROGRESS,
        Verdict.ACCEPTED_WITH_WARNINGS,
        "minor_clips",
        stages_done=2,
    ),
    DemoJob(
        "Copper Sky",
        "nova",
        JobStatus.IN_PROGRESS,
        Verdict.ACCEPTED,
        stages_done=1,
        backdate_days=2.8,
    ),
    DemoJob(
        "Undertow",
        "echo",
        JobStatus.IN_PROGRESS,
        Verdict.ACCEPTED,
        stages_done=4,
        backdate_days=3.5,
    ),
    DemoJob("Northern Line", "nova", JobStatus.DELIVERED, Verdict.ACCEPTED, stages_done=6),
    DemoJob("Open Water", "echo", JobStatus.REVISION_REQUESTED, Verdict.ACCEPTED, stages_done=6),
    DemoJob("Tidal", "echo", JobStatus.APPROVED, Verdict.ACCEPTED, stages_done=6),
    DemoJob("Static Hearts", "nova", JobStatus.ON_HOLD, Verdict.ACCEPTED, stages_done=1),
    DemoJob("Fever Dream", "echo", JobStatus.DECLINED, Verdict.REEXPORT_REQUESTED, "no_vision"),
    DemoJob("Last Light", "nova", JobStatus.CANCELLED),
]


class Command(BaseCommand):
    help = "Create the demo studio (idempotent) and print the demo logins."

    def handle(self, *args: Any, **options: Any) -> None:
        logging.getLogger("celery").setLevel(logging.WARNING)  # one line per task is noise here
        if User.objects.filter(username="manager").exists():
            self.stdout.write("Demo studio already present.")
        else:
            # The verdict and delivery emails of the demo are not worth printing.
            with override_settings(EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend"):
                self._seed()
            self.stdout.write(self.style.SUCCESS(f"Demo studio created: {len(JOBS)} jobs."))
        self.stdout.write(f"Demo logins (password {DEMO_PASSWORD!r}):")
        for username, role, name, org in LOGINS:
            where = f", {org}" if org else ""
            self.stdout.write(f"  {username:<8} {role.label}: {name}{where}")
        self.stdout.write("Admin: log in as 'manager' at /admin/.")
        self.stdout.write(f"Guest review link of Northern Line (no login): {demo_guest_path()}")

    def _seed(self) -> None:
        StudioPolicy.current()
        self.users: dict[str, User] = {}
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
            self.users[username] = user
        self.reference = demo_audio.master(
            [demo_audio.stem(name, seed=99) for name in demo_audio.INSTRUMENTS]
        )
        for index, spec in enumerate(JOBS):
            self._job(spec, engineer=self.users["ada" if index % 2 == 0 else "ben"], seed=index)
        review_demo_seed(client=self.users["nova"], engineer=self.users["ben"])
        manager_demo_seed(engineers=self.users, manager=self.users["manager"])
        dose_demo_seed(engineers=self.users)
        plan_refresh()

    def _job(self, spec: DemoJob, *, engineer: User, seed: int) -> None:
        client, manager = self.users[spec.client], self.users["manager"]
        assert client.organisation is not None
        job = services.job_create(
            by=client,
            track_title=spec.title,
            artist=client.get_full_name(),
            reference_notes=""
            if spec.defect == "no_vision"
            else "The bass-to-vocal balance of the reference; keep the vocal upfront.",
        )
        stems = {name: demo_audio.stem(name, seed=seed) for name in demo_audio.INSTRUMENTS}
        self._hand_in(job, client, stems, spec.defect)
        if spec.status == JobStatus.DRAFT:
            return

        if spec.status in (JobStatus.SUBMITTED, JobStatus.CANCELLED, JobStatus.ANALYSING):
            services.job_submit(job=job, by=client)  # shown before intake has run
            if spec.status == JobStatus.CANCELLED:
                services.job_cancel(job=job, by=manager, reason="The artist withdrew the track.")
            elif spec.status == JobStatus.ANALYSING:
                services.job_start_analysis(job=job)
            return

        # As the client's Submit button: measured in process, the verdict recorded at the end.
        intake_submit(job=job, by=client)
        job.refresh_from_db()
        if job.verdict != spec.verdict:
            raise CommandError(
                f"Demo job {spec.title!r}: intake said {job.verdict!r}, expected {spec.verdict!r}"
            )
        if spec.status == JobStatus.AWAITING_CLIENT:
            if spec.preview:
                self._preview(job, engineer, stems)
            return
        if spec.status == JobStatus.DECLINED:
            services.job_decline(
                job=job,
                by=manager,
                reason="Highly experimental, with no rough mix or reference: not our fit.",
            )
            return
        if job.status == JobStatus.AWAITING_CLIENT:  # minor clipping: the client proceeds
            services.job_acknowledge(job=job, by=client)

        self._work(job, engineer, manager, spec.stages_done)
        if spec.stages_done == 6:
            self._master(job, engineer, stems)
            services.job_deliver(job=job, by=engineer)
        if spec.status == JobStatus.APPROVED:
            services.job_approve(job=job, by=client)
        elif spec.status == JobStatus.REVISION_REQUESTED:
            services.job_request_revision(
                job=job, by=client, note="Could the vocal sit 1 dB higher in the chorus?"
            )
        elif spec.status == JobStatus.ON_HOLD:
            services.job_hold(job=job, by=manager, reason="The label is re-cutting the vocal.")
        if spec.backdate_days:
            self._backdate(job, spec.backdate_days)
        job.refresh_from_db()
        if job.status != spec.status:
            raise CommandError(f"Demo job {spec.title!r} ended {job.status!r}, not {spec.status!r}")

    def _work(self, job: Job, engineer: User, manager: User, stages_done: int) -> None:
        stages = {
            s.kind: s for s in Stage.objects.filter(job=job, revision_round=job.revision_round)
        }
        for kind in STAGE_ORDER:
            services.stage_assign(stage=stages[kind], by=manager, engineer=engineer)
        for position, kind in enumerate(STAGE_ORDER):
            stage = Stage.objects.get(pk=stages[kind].pk)
            if position < stages_done:
                services.stage_start(stage=stage, by=engineer)
                services.stage_finish(stage=stage, by=engineer, notes=STAGE_NOTES[kind])
            elif position == stages_done and position > 0:
                services.stage_start(stage=stage, by=engineer)
                break

    def _backdate(self, job: Job, days: float) -> None:
        """Move the clock back, as if the job had been accepted `days` ago, and say so."""
        shift = timedelta(days=days)
        Job.objects.filter(pk=job.pk).update(
            accepted_at=F("accepted_at") - shift, due_at=F("due_at") - shift
        )
        Stage.objects.filter(job=job, started_at__isnull=False).update(
            started_at=F("started_at") - shift
        )
        Stage.objects.filter(job=job, finished_at__isnull=False).update(
            finished_at=F("finished_at") - shift
        )
        job.refresh_from_db()
        JobEvent.objects.create(
            job=job,
            kind=EventKind.DEADLINE,
            to_value=job.due_at.isoformat() if job.due_at else "",
            note=f"Demo data: the clock was moved back {days:g} days to show a tight deadline.",
        )

    def _hand_in(self, job: Job, client: User, stems: dict[str, np.ndarray], defect: str) -> None:
        for name, data in stems.items():
            if defect == "clipped" and name == "Bass":
                data = demo_audio.hard_clip(data, 12)
            if defect == "minor_clips" and name == "Drums":
                data = demo_audio.minor_clips(data, (1.0, 2.5))
            if defect == "no_vision" and name == "Keys":
                data = data[: len(data) - demo_audio.RATE // 2]  # exported half a second short
            self._file(job, client, FileKind.STEM, f"{name} - {job.track_title}.wav", data)
        if defect == "no_vision":
            return
        self._file(
            job,
            client,
            FileKind.ROUGH_MIX,
            f"{job.track_title} rough mix.wav",
            demo_audio.mix(list(stems.values())),
        )
        self._file(job, client, FileKind.REFERENCE, "Reference - Night Swim.wav", self.reference)

    def _master(self, job: Job, engineer: User, stems: dict[str, np.ndarray]) -> None:
        # As the delivery engineer's upload: stored and measured in process before delivery.
        job.refresh_from_db()  # the stage moves put it in progress
        content = demo_audio.wav(demo_audio.master(list(stems.values())))
        master_add(
            job=job,
            content=io.BytesIO(content),
            name=f"{job.track_title} (master).wav",
            by=engineer,
        )

    def _preview(self, job: Job, engineer: User, stems: dict[str, np.ndarray]) -> None:
        # As the engineer's upload: checked, stored and measured like any file, then the client
        # is asked to answer it.
        clipped = {**stems, "Drums": demo_audio.minor_clips(stems["Drums"], (1.0, 2.5))}
        preview_add(
            job=job,
            content=io.BytesIO(demo_audio.wav(demo_audio.master(list(clipped.values())))),
            name=f"{job.track_title} (levelling preview).wav",
            note=(
                "This is the chorus levelled to the loudness we would master to. The two clipped "
                "drum hits at 0:01 and 0:02 soften under the limiter but still crackle a little: "
                "carry on if you are happy with that, or re-export the drums 6 dB lower."
            ),
            by=engineer,
        )

    def _file(self, job: Job, by: User, kind: str, name: str, data: np.ndarray) -> AudioFile:
        """One file handed in, as a client's browser upload stores it."""
        content = io.BytesIO(demo_audio.wav(data))
        return audio_file_add(job=job, content=content, name=name, kind=kind, by=by)
