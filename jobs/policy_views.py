"""The studio policy page: the form, the studio's and engineers' days off, and the history of
every change. A form saved over a policy changed meanwhile says what changed instead of
overwriting it."""

from __future__ import annotations

from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import get_language
from django.views.decorators.http import require_http_methods, require_POST

from jobs.board_views import require_manager
from jobs.fragments import content_key
from jobs.models import EngineerDayOff, PolicyChange, StudioDayOff, StudioPolicy
from jobs.policy_form import DayOffForm, PolicyForm, form_fields_of, form_value, setting_label
from jobs.services import WorkflowError
from jobs.services.policy import (
    StalePolicy,
    engineer_day_off_add,
    engineer_day_off_remove,
    policy_update,
    studio_day_off_add,
    studio_day_off_remove,
)
from jobs.timeline import local_time


def _today(policy: StudioPolicy) -> date:
    return timezone.now().astimezone(ZoneInfo(policy.timezone)).date()


def policy_form_key(policy: StudioPolicy) -> str:
    """The fragment key of the policy form's fields as a GET shows them (unbound, over this
    policy): every column of the policy (the form shows nearly all and its version), and the
    language numbers are written in."""
    return content_key(
        get_language(), *(getattr(policy, f.attname) for f in StudioPolicy._meta.concrete_fields)
    )


def _page(
    request: HttpRequest,
    policy: StudioPolicy,
    *,
    form: PolicyForm | None = None,
    studio_form: DayOffForm | None = None,
    engineer_form: DayOffForm | None = None,
    stale: list[dict[str, str]] | None = None,
    status: int = 200,
) -> HttpResponse:
    today = _today(policy)
    zone = ZoneInfo(policy.timezone)
    history = [
        {
            "at": c.at,
            "when": local_time(c.at, zone),
            "who": (c.actor.get_full_name() or c.actor.username) if c.actor else "someone",
            "setting": setting_label(c.field),
            "was": c.from_value,
            "now": c.to_value,
        }
        for c in PolicyChange.objects.select_related("actor")[:50]
    ]
    return render(
        request,
        "jobs/policy.html",
        {
            "form": form or PolicyForm(instance=policy),
            "studio_form": studio_form or DayOffForm(today=today, prefix="studio"),
            "engineer_form": engineer_form
            or DayOffForm(today=today, with_engineer=True, prefix="engineer"),
            "studio_days_off": StudioDayOff.objects.filter(date__gte=today),
            "engineer_days_off": EngineerDayOff.objects.filter(date__gte=today)
            .select_related("engineer")
            .order_by("date", "engineer__first_name", "engineer__username"),
            "history": history,
            "stale": stale,
            # A form given is bound (errors, edits kept): rendered every time.
            "form_key": policy_form_key(policy) if form is None else "",
        },
        status=status,
    )


def _stale_answer(request: HttpRequest, stale: StalePolicy) -> HttpResponse:
    """The form again over the current policy: the settings changed meanwhile show their new
    values, the manager's other edits are kept, and the page lists what changed."""
    policy = StudioPolicy.current()
    fresh = PolicyForm(instance=policy)
    data = request.POST.copy()
    zone = ZoneInfo(policy.timezone)
    rows = []
    for change in stale.changes:
        for name in form_fields_of(change.field):
            value = form_value(fresh[name].initial)
            if isinstance(value, list):
                data.setlist(name, value)
            else:
                data[name] = value
        rows.append(
            {
                "who": (change.actor.get_full_name() or change.actor.username)
                if change.actor
                else "someone",
                "when": local_time(change.at, zone),
                "setting": setting_label(change.field),
                "was": change.from_value,
                "now": change.to_value,
            }
        )
    data["version"] = fresh.initial["version"]
    form = PolicyForm(data, instance=policy)
    for change in stale.changes:  # marked, so the manager finds what moved under them
        for name in form_fields_of(change.field):
            form.fields[name].widget.attrs["class"] = "changed-meanwhile"
    return _page(request, policy, form=form, stale=rows, status=409)


@require_http_methods(["GET", "POST"])
@login_required
def policy_view(request: HttpRequest) -> HttpResponse:
    user = require_manager(request)
    policy = StudioPolicy.current()
    if request.method != "POST":
        return _page(request, policy)
    form = PolicyForm(request.POST, instance=policy)
    if not form.is_valid():
        messages.error(request, "Some settings need fixing; nothing was saved.")
        return _page(request, StudioPolicy.current(), form=form, status=400)
    try:
        changes = policy_update(
            by=user, values=form.policy_values(), version=form.cleaned_data["version"]
        )
    except StalePolicy as stale:
        return _stale_answer(request, stale)
    if changes:
        messages.success(
            request,
            f"Saved {len(changes)} change{'s' if len(changes) != 1 else ''}; "
            "the plan has been redone.",
        )
    else:
        messages.info(request, "Nothing changed.")
    return redirect("policy")


def _run_day_off(request: HttpRequest, policy: StudioPolicy) -> tuple[str, dict[str, Any]]:
    """Add or remove a day off; answers what was done, or the forms with their errors."""
    user = require_manager(request)
    action = request.POST.get("action", "")
    today = _today(policy)
    if action in ("remove_studio", "remove_engineer"):
        try:
            day_off_id = int(request.POST.get("day_off", ""))
        except ValueError:
            raise WorkflowError("Choose the day off to remove.") from None
        if action == "remove_studio":
            studio_day_off_remove(by=user, day_off_id=day_off_id)
        else:
            engineer_day_off_remove(by=user, day_off_id=day_off_id)
        return "Day off removed; the plan has been redone.", {}
    if action == "add_studio":
        form = DayOffForm(request.POST, today=today, prefix="studio")
        if not form.is_valid():
            return "", {"studio_form": form}
        try:
            studio_day_off_add(
                by=user, day=form.cleaned_data["date"], reason=form.cleaned_data["reason"]
            )
        except WorkflowError as exc:
            form.add_error("date", exc.message)
            return "", {"studio_form": form}
        return "Studio day off added; the plan has been redone.", {}
    if action == "add_engineer":
        form = DayOffForm(request.POST, today=today, with_engineer=True, prefix="engineer")
        if not form.is_valid():
            return "", {"engineer_form": form}
        try:
            engineer_day_off_add(
                by=user,
                engineer=form.cleaned_data["engineer"],
                day=form.cleaned_data["date"],
                reason=form.cleaned_data["reason"],
            )
        except WorkflowError as exc:
            form.add_error("date", exc.message)
            return "", {"engineer_form": form}
        return "Day off added; the plan has been redone.", {}
    raise WorkflowError("Unknown action.")


@require_POST
@login_required
def days_off_view(request: HttpRequest) -> HttpResponse:
    """Add or remove a studio day off or an engineer's day off, then back to the policy page."""
    require_manager(request)
    policy = StudioPolicy.current()
    try:
        done, forms = _run_day_off(request, policy)
    except WorkflowError as exc:
        messages.error(request, exc.message)
        return _page(request, policy, status=400)
    if not done:
        messages.error(request, "The day off needs fixing; nothing was saved.")
        return _page(request, policy, status=400, **forms)
    messages.success(request, done)
    return redirect("/policy/#days-off")
