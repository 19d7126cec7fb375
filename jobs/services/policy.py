"""A manager changes the studio policy: every changed setting goes to the policy history, and the
plan is redone at once so deadlines and engineers' days reflect the new rules. Days off (the
studio's and each engineer's) are added and removed here too, with the same history and
re-plan."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

from django.db import IntegrityError, transaction

from jobs.models import (
    STAGE_ORDER,
    EngineerDayOff,
    PolicyChange,
    StudioDayOff,
    StudioPolicy,
    User,
)
from jobs.services.core import WorkflowError, WrongState, require_manager

# Settings kept as one JSON value per stage kind: the history records each kind's change.
PER_KIND = ("stage_estimates", "checklists")
WEEKDAY_NAMES = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]


class StalePolicy(WrongState):
    """The policy changed after the form was loaded; `changes` says what changed since."""

    def __init__(self, changes: list[PolicyChange]) -> None:
        super().__init__("The policy was changed meanwhile.")
        self.changes = changes


def _size(n: int) -> str:
    gib, mib = 1024**3, 1024**2
    return f"{n / gib:g} GB" if n >= gib else f"{n / mib:g} MB"


def _text(name: str, value: Any) -> str:
    """A setting's value as the history shows it."""
    if value is None:
        return ""
    if name == "working_weekdays":
        return ", ".join(WEEKDAY_NAMES[int(d)] for d in sorted(value))
    if name.endswith("_bytes"):
        return _size(int(value))
    if isinstance(value, time):
        return value.strftime("%H:%M")
    if isinstance(value, float):
        return f"{value:g}"
    if name == "stage_estimates":
        return f"{value.get('base', 0)} min + {value.get('per_stem', 0)} per stem"
    if name == "checklists":
        return "; ".join(str(i) for i in value) or "no checklist"
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    return str(value)


def _per_kind_changes(policy: StudioPolicy, name: str, new: dict[str, Any]) -> list[PolicyChange]:
    old = getattr(policy, name) or {}
    changes = []
    for kind in STAGE_ORDER:
        before = policy.checklist_items(kind) if name == "checklists" else old.get(kind)
        after = new.get(kind)
        if before != after:
            changes.append(
                PolicyChange(
                    field=f"{name}.{kind}",
                    from_value=_text(name, before),
                    to_value=_text(name, after),
                )
            )
    return changes


def policy_changes_since(version: str) -> list[PolicyChange] | None:
    """The settings changed after the policy's `version` (its `updated_at` as loaded), newest
    last; None when the version cannot be read."""
    try:
        since = datetime.fromisoformat(version)
    except ValueError:
        return None
    return list(
        PolicyChange.objects.filter(at__gt=since)
        .exclude(field__in=("studio_day_off", "engineer_day_off"))
        .select_related("actor")
        .order_by("at", "pk")
    )


def policy_update(
    *, by: User, values: dict[str, Any], version: str | None = None
) -> list[PolicyChange]:
    """Apply the changed settings (already validated by the form) and record each one. With
    `version` (the policy's `updated_at` as the form loaded it), a policy saved meanwhile is not
    overwritten: StalePolicy says what changed since."""
    require_manager(by, "change the studio policy")
    StudioPolicy.current()
    with transaction.atomic():
        policy = StudioPolicy.objects.select_for_update().get(pk=1)
        if version is not None and version != policy.updated_at.isoformat():
            raise StalePolicy(policy_changes_since(version) or [])
        changes = []
        for name, new in values.items():
            if not hasattr(policy, name):
                raise WorkflowError(f"Unknown setting {name!r}.")
            old = getattr(policy, name)
            if name in PER_KIND:
                changes += _per_kind_changes(policy, name, new)
            elif old != new:
                changes.append(
                    PolicyChange(field=name, from_value=_text(name, old), to_value=_text(name, new))
                )
            if old != new:
                setattr(policy, name, new)
        if not changes:
            return []
        for change in changes:
            change.actor = by
        policy.save()
        PolicyChange.objects.bulk_create(changes)
        transaction.on_commit(_replan)
    return changes


def _day(day: date, reason: str) -> str:
    text = f"{WEEKDAY_NAMES[day.weekday()]} {day.day} {day:%b %Y}"
    return f"{text} ({reason})" if reason else text


def _name(user: User) -> str:
    return user.get_full_name() or user.username


def studio_day_off_add(*, by: User, day: date, reason: str = "") -> StudioDayOff:
    """Close the studio for a day; the working-days clock and every plan skip it."""
    require_manager(by, "add a studio day off")
    reason = reason.strip()
    try:
        with transaction.atomic():
            off = StudioDayOff.objects.create(date=day, reason=reason)
            PolicyChange.objects.create(
                actor=by, field="studio_day_off", to_value=_day(day, reason)
            )
            transaction.on_commit(_replan)
    except IntegrityError:
        raise WrongState(f"{_day(day, '')} is already a studio day off.") from None
    return off


def studio_day_off_remove(*, by: User, day_off_id: int) -> None:
    require_manager(by, "remove a studio day off")
    with transaction.atomic():
        off = StudioDayOff.objects.select_for_update().filter(pk=day_off_id).first()
        if off is None:
            raise WrongState("That studio day off was removed meanwhile.")
        off.delete()
        PolicyChange.objects.create(
            actor=by, field="studio_day_off", from_value=_day(off.date, off.reason)
        )
        transaction.on_commit(_replan)


def engineer_day_off_add(
    *, by: User, engineer: User, day: date, reason: str = ""
) -> EngineerDayOff:
    """One person's day off: the planner gives them no work that day."""
    require_manager(by, "add a day off")
    if not engineer.may_be_assigned:
        raise WorkflowError("Days off are for the studio's engineers and managers.")
    reason = reason.strip()
    try:
        with transaction.atomic():
            off = EngineerDayOff.objects.create(engineer=engineer, date=day, reason=reason)
            PolicyChange.objects.create(
                actor=by,
                field="engineer_day_off",
                to_value=f"{_name(engineer)}: {_day(day, reason)}",
            )
            transaction.on_commit(_replan)
    except IntegrityError:
        raise WrongState(f"{_name(engineer)} is already off on {_day(day, '')}.") from None
    return off


def engineer_day_off_remove(*, by: User, day_off_id: int) -> None:
    require_manager(by, "remove a day off")
    with transaction.atomic():
        off = (
            EngineerDayOff.objects.select_for_update(of=("self",))
            .select_related("engineer")
            .filter(pk=day_off_id)
            .first()
        )
        if off is None:
            raise WrongState("That day off was removed meanwhile.")
        off.delete()
        PolicyChange.objects.create(
            actor=by,
            field="engineer_day_off",
            from_value=f"{_name(off.engineer)}: {_day(off.date, off.reason)}",
        )
        transaction.on_commit(_replan)


def _replan() -> None:
    from jobs.plan_store import plan_refresh

    plan_refresh()
