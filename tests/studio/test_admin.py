"""Everything in the data model is reachable in the Django admin."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.contrib import admin
from django.test import Client
from django.urls import reverse

from jobs.models import Role
from tests.factories import make_audio_file, make_job, make_user

pytestmark = pytest.mark.django_db


def test_every_model_of_ours_is_registered_and_its_pages_load(client: Client) -> None:
    ours = [m for m in apps.get_models() if m._meta.app_label in {"jobs", "analysis", "review"}]
    inlined = {
        inline.model
        for model_admin in admin.site._registry.values()
        for inline in model_admin.inlines
    }
    missing = [m.__name__ for m in ours if m not in admin.site._registry and m not in inlined]
    assert missing == []

    manager = make_user(Role.MANAGER, is_staff=True, is_superuser=True)
    job = make_job()
    make_audio_file(job)
    client.force_login(manager)
    for model in ours:
        if model not in admin.site._registry:
            continue  # shown inline on its parent's page
        meta = model._meta
        changelist = reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist")
        assert client.get(changelist).status_code == 200, changelist
    assert client.get(reverse("admin:jobs_job_change", args=[job.pk])).status_code == 200
