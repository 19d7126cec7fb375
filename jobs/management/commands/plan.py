"""`python manage.py plan`: re-plan the studio and print each engineer's timeline.

Until the engineer and manager pages exist this is how the schedule is read: work blocks and ear
breaks per engineer in their own timezone, then the jobs the plan says will finish late.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from jobs.models import Job, Stage, User
from jobs.plan_store import plan_compute, plan_refresh
from jobs.planner import WORK


class Command(BaseCommand):
    help = "Re-plan the studio's work and print each engineer's timeline."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--days", type=int, default=7, help="how many days ahead to print (default 7)"
        )
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="plan without storing predictions, proposals or deadline statuses",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        now = timezone.now()
        if options["dry_run"]:
            result, inputs = plan_compute(now=now)
        else:
            result = plan_refresh(now=now)
            _, inputs = plan_compute(now=now)
        until = now + timedelta(days=options["days"])
        stage_ids = [sid for sid in result.stage_finish]
        stages = {s.pk: s for s in Stage.objects.filter(pk__in=stage_ids).select_related("job")}
        timelines = result.timelines
        people = {u.pk: u for u in User.objects.filter(pk__in=list(timelines))}
        zones = {e.id: ZoneInfo(e.calendar.tz) for e in inputs.engineers}

        for eid, blocks in sorted(timelines.items(), key=lambda kv: people[kv[0]].username):
            user = people[eid]
            zone = zones[eid]
            work = sum(b.minutes for b in blocks if b.kind == WORK)
            self.stdout.write(
                self.style.MIGRATE_HEADING(
                    f"{user.get_full_name() or user.username} ({zone.key}): "
                    f"{len(blocks)} blocks, {work // 60} h {work % 60:02d} min of listening"
                )
            )
            shown = [b for b in blocks if b.start < until]
            if not shown:
                self.stdout.write("  nothing planned")
            day = None
            for b in shown:
                start, end = b.start.astimezone(zone), b.end.astimezone(zone)
                if start.date() != day:
                    day = start.date()
                    self.stdout.write(f"  {start:%a %d %b}")
                if b.kind == WORK and b.stage_id in stages:
                    stage = stages[b.stage_id]
                    what = f"{stage.get_kind_display()} · {stage.job}"
                    if stage.assignee_id is None:
                        what += " (proposed)"
                else:
                    what = f"- ear break ({b.break_kind.replace('_', ' ')}) -"
                self.stdout.write(f"    {start:%H:%M}-{end:%H:%M}  {what}")

        unplanned = [stages[sid] for sid in result.unplanned if sid in stages]
        if unplanned:
            self.stdout.write(self.style.WARNING(f"Unplanned stages: {len(unplanned)}"))
            for stage in unplanned:
                self.stdout.write(f"  {stage}")
        late = Job.objects.filter(pk__in=list(result.job_finish)).exclude(
            deadline_status="on_track"
        )
        for job in late.order_by("due_at"):
            predicted = result.job_finish.get(job.pk)
            when = f"{predicted:%Y-%m-%d %H:%M} UTC" if predicted else "not planned"
            self.stdout.write(
                self.style.WARNING(
                    f"{job.get_deadline_status_display()}: {job}, due "
                    f"{job.due_at:%Y-%m-%d %H:%M} UTC, predicted {when}"
                )
            )
