"""A manager changes the studio policy: every changed setting goes to the policy history, and the
plan is redone at once so deadlines and engineers' days reflect the new rules."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from jobs.models import PolicyChange, StudioPolicy, User
from jobs.services.core import WorkflowError, require_manager


def _text(value: Any) -> str:
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    return "" if value is None else str(value)


def policy_update(*, by: User, values: dict[str, Any]) -> list[PolicyChange]:
    """Apply the changed settings (already validated by the form) and record each one."""
    require_manager(by, "change the studio policy")
    StudioPolicy.current()
    with transaction.atomic():
        policy = StudioPolicy.objects.select_for_update().get(pk=1)
        changes = []
        for name, new in values.items():
            if not hasattr(policy, name):
                raise WorkflowError(f"Unknown setting {name!r}.")
            old = getattr(policy, name)
            if old == new:
                continue
            changes.append(
                PolicyChange(actor=by, field=name, from_value=_text(old), to_value=_text(new))
            )
            setattr(policy, name, new)
        if not changes:
            return []
        policy.save()
        PolicyChange.objects.bulk_create(changes)
        transaction.on_commit(_replan)
    return changes


def _replan() -> None:
    from jobs.plan_store import plan_refresh

    plan_refresh()
