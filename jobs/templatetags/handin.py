"""`{% handin_config job as handin %}`: what the hand-in script needs to upload to this job
(tus on local disk, S3 multipart on S3), its caps and the naming rules."""

from __future__ import annotations

from typing import Any

from django import template
from django.conf import settings
from django.urls import reverse

from analysis.intake.naming import browser_rules
from jobs.models import Job
from jobs.s3_multipart import s3_active
from jobs.uploads import policy_caps

register = template.Library()


@register.simple_tag
def handin_config(job: Job) -> dict[str, Any]:
    return {
        "mode": "s3" if s3_active() else "tus",
        "tus_endpoint": reverse("tus_create", args=[job.pk]),
        "s3_start": reverse("s3_upload_start", args=[job.pk]),
        "chunk_bytes": int(settings.UPLOAD_CHUNK_BYTES),
        "max_file_bytes": policy_caps()[0],
        "rules": browser_rules(),
    }
