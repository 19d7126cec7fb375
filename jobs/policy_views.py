"""The studio policy page: the form, and the history of every change."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from jobs.board_views import require_manager
from jobs.models import PolicyChange, StudioPolicy
from jobs.policy_form import PolicyForm
from jobs.services.policy import policy_update


@require_http_methods(["GET", "POST"])
@login_required
def policy_view(request: HttpRequest) -> HttpResponse:
    user = require_manager(request)
    policy = StudioPolicy.current()
    form = PolicyForm(request.POST or None, instance=policy)
    if request.method == "POST":
        if form.is_valid():
            values = {name: form.cleaned_data[name] for name in form.Meta.fields}
            changes = policy_update(by=user, values=values)
            if changes:
                messages.success(
                    request,
                    f"Saved {len(changes)} change{'s' if len(changes) != 1 else ''}; "
                    "the plan has been redone.",
                )
            else:
                messages.info(request, "Nothing changed.")
            return redirect("policy")
        messages.error(request, "Some settings need fixing; nothing was saved.")
    history = PolicyChange.objects.select_related("actor")[:50]
    return render(
        request,
        "jobs/policy.html",
        {"form": form, "history": history},
        status=400 if form.errors else 200,
    )
