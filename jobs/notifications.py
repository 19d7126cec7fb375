"""Emails to clients and managers, through Django's mail framework.

Services call these after their transaction commits (with ids, so a rolled-back move sends
nothing); the managers' deadline alerts are sent by the beat task in jobs/tasks.py, from the
deadline statuses the last re-plan stored.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from jobs.models import Job, Role, User
from jobs.plan_store import running_jobs
from jobs.timeline import local_time, studio_tz

# The deadline statuses that warn the managers, each with the field that claims its alert.
_DEADLINE_ALERTS = (("overdue", "overdue_alerted_at"), ("at_risk", "at_risk_alerted_at"))


def _job_url(job: Job) -> str:
    return f"{settings.SITE_URL}{reverse('job_detail', args=[job.pk])}"


def _client_addresses(job: Job) -> list[str]:
    # Everyone at the client's organisation follows the job, not only the person who created it.
    return sorted(
        {
            u.email
            for u in User.objects.filter(
                organisation_id=job.organisation_id, role=Role.CLIENT, is_active=True
            )
            if u.email
        }
    )


def _manager_addresses() -> list[str]:
    return sorted(
        {u.email for u in User.objects.filter(role=Role.MANAGER, is_active=True) if u.email}
    )


def _send(subject: str, body: str, to: list[str], html: str | None = None) -> int:
    if not to:
        return 0
    mail = EmailMultiAlternatives(subject, body, None, to)
    if html is not None:
        mail.attach_alternative(html, "text/html")
    return mail.send(fail_silently=False)


def _send_templated(subject: str, template: str, context: dict[str, Any], to: list[str]) -> int:
    """A plain-text and an HTML part from templates/emails/<template>.txt and .html."""
    context = {"subject": subject, "job_url": _job_url(context["job"]), **context}
    body = render_to_string(f"emails/{template}.txt", context).strip() + "\n"
    return _send(subject, body, to, html=render_to_string(f"emails/{template}.html", context))


def _local(at: datetime) -> str:
    """A moment as the client reads it: the studio's local time, with its zone."""
    tz = studio_tz()
    return f"{local_time(at, tz)} ({tz.key})"


def notify_verdict(*, job_id: UUID | str, report_id: int | None = None) -> int:
    """Tell the client what intake decided: each finding once, what to fix first."""
    job = Job.objects.select_related("organisation").get(pk=job_id)
    head, findings = "", []
    if report_id is not None:
        from analysis.models import IntakeReport

        report = IntakeReport.objects.filter(pk=report_id).first()
        if report is not None:
            # The summary's first line is its headline; the rest repeats the findings.
            head = report.summary.splitlines()[0] if report.summary else ""
            findings = list(report.findings.all())
    if job.status == "awaiting_client":
        if job.verdict == "accepted_with_warnings":
            next_step = "Please acknowledge the warnings, or upload fixed files, to go ahead."
        else:
            next_step = "Please export the files again as described above and re-upload them."
    elif job.status == "declined":
        next_step = "The studio will not take this job on; the job page has the details."
    elif job.due_at is not None:
        next_step = f"Work has started. Due: {_local(job.due_at)}."
    else:
        next_step = ""
    context = {
        "job": job,
        "head": head,
        "fixes": [f for f in findings if f.severity in ("error", "warning")],
        "infos": [f for f in findings if f.severity == "info"],
        "next_step": next_step,
        "reason": job.verdict_reason,
    }
    subject = f"[Headroom] {job}: {job.get_verdict_display()}"
    return _send_templated(subject, "verdict", context, _client_addresses(job))


def notify_reassigned(*, stage_id: int, old_id: int | None, new_id: int | None, by_id: int) -> int:
    """Tell the engineer who lost a stage and the one who got it (not the one who moved it)."""
    from jobs.models import Stage

    stage = Stage.objects.select_related("job").get(pk=stage_id)
    people = {u.pk: u for u in User.objects.filter(pk__in=[old_id, new_id], is_active=True)}
    new = people.get(new_id) if new_id else None
    sent = 0
    for pk, text in ((old_id, "is no longer yours"), (new_id, "is now yours")):
        person = people.get(pk) if pk else None
        if person is None or pk == by_id or not person.email:
            continue
        whom = f" (now {new.get_full_name() or new.username})" if new and pk != new_id else ""
        body = f"{stage.get_kind_display()} of “{stage.job}” {text}{whom}.\n\n{_job_url(stage.job)}"
        sent += _send(
            f"[Headroom] {stage.job}: {stage.get_kind_display()} {text}", body, [person.email]
        )
    return sent


def notify_delivered(*, job_id: UUID | str) -> int:
    job = Job.objects.get(pk=job_id)
    subject = f"[Headroom] {job}: your master is ready"
    return _send_templated(subject, "delivered", {"job": job}, _client_addresses(job))


def notify_revision_received(*, job_id: UUID | str, note: str = "") -> int:
    job = Job.objects.get(pk=job_id)
    due = _local(job.due_at) if job.due_at else "to be set"
    context = {"job": job, "note": note, "due": due}
    subject = f"[Headroom] {job}: revision received"
    return _send_templated(subject, "revision_received", context, _client_addresses(job))


def _studio_addresses(*people: User | None) -> list[str]:
    """The managers and the people named (say the engineer who sent something)."""
    named = {u.email for u in people if u is not None and u.is_active and u.email}
    return sorted(set(_manager_addresses()) | named)


def notify_preview_sent(*, preview_id: int) -> int:
    """Tell the client a levelling preview waits for them, with the engineer's note."""
    from jobs.models import LevellingPreview

    preview = LevellingPreview.objects.select_related("job", "audio_file").get(pk=preview_id)
    job = preview.job
    context = {"job": job, "preview": preview, "room_url": f"{_job_url(job)}#levelling-preview"}
    subject = f"[Headroom] {job}: hear how the levelled master would sound"
    return _send_templated(subject, "preview_sent", context, _client_addresses(job))


def notify_preview_answered(*, preview_id: int) -> int:
    """Tell the studio (the managers and the engineer who sent it) the client's answer."""
    from jobs.models import LevellingPreview

    preview = LevellingPreview.objects.select_related("job", "sent_by", "answered_by").get(
        pk=preview_id
    )
    job = preview.job
    due = _local(job.due_at) if job.due_at else ""
    context = {"job": job, "preview": preview, "due": due}
    subject = f"[Headroom] {job}: levelling preview answered: {preview.get_answer_display()}"
    return _send_templated(subject, "preview_answered", context, _studio_addresses(preview.sent_by))


def notify_deadline(*, job_id: UUID | str, kind: str) -> int:
    """Warn the managers that a job is at risk (the plan finishes late) or overdue."""
    job = Job.objects.get(pk=job_id)
    due = f"{job.due_at:%Y-%m-%d %H:%M} UTC" if job.due_at else "-"
    predicted = (
        f"{job.predicted_finish_at:%Y-%m-%d %H:%M} UTC" if job.predicted_finish_at else "unplanned"
    )
    word = "overdue" if kind == "overdue" else "at risk"
    body = (
        f"“{job}” is {word}.\n\nDue: {due}\nPredicted finish: {predicted}\n"
        f"Status: {job.get_status_display()}\n{_job_url(job)}\n"
    )
    return _send(f"[Headroom] {job} is {word}", body, _manager_addresses())


def deadline_alerts_send(*, now: datetime | None = None) -> list[tuple[object, str]]:
    """Email the managers once per job when it becomes at risk and once when it becomes
    overdue. The alert is claimed with a conditional UPDATE before sending, so two beat runs at
    once still send one email; a failed send releases the claim for the next run."""
    now = now or timezone.now()
    todo = [
        (pk, kind, field)
        for kind, field in _DEADLINE_ALERTS
        for pk in running_jobs()
        .filter(deadline_status=kind, **{f"{field}__isnull": True})
        .values_list("pk", flat=True)
    ]
    sent: list[tuple[object, str]] = []
    for pk, kind, field in todo:
        claimed = Job.objects.filter(pk=pk, **{f"{field}__isnull": True}).update(**{field: now})
        if not claimed:
            continue
        try:
            notify_deadline(job_id=pk, kind=kind)
        except Exception:
            Job.objects.filter(pk=pk).update(**{field: None})
            raise
        sent.append((pk, kind))
    return sent
