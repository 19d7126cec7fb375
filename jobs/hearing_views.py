"""My hearing: the engineer's monitor calibration and usual level, and what they mean in sound
dose (the time a day allows at each level)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from jobs.dose import (
    MAX_SPL_DB,
    MIN_SPL_DB,
    REFERENCE_DBFS,
    LevelOutOfRange,
    allowed_minutes,
    check_level,
    monitoring_level,
)
from jobs.models import EngineerProfile, StudioPolicy, User
from jobs.services import WorkflowError
from jobs.sessions import calibration_record, dose_today

# Programme levels shown against the calibration: the reference, a dynamic and a loud master.
PROGRAMME_DBFS = (REFERENCE_DBFS, -14.0, -9.0)


class HearingForm(forms.Form):
    calibration_spl_db = forms.FloatField(
        label="Pink noise at \u221220 dBFS RMS reads (dB SPL at your chair)",
        error_messages={"required": "Give the level your meter reads for the reference noise."},
    )
    monitoring_level_db = forms.FloatField(
        label="You usually monitor at (dB SPL; leave empty for the calibration level)",
        required=False,
    )

    def _plausible(self, name: str, what: str) -> float | None:
        value: float | None = self.cleaned_data.get(name)
        if value is None:
            return None
        try:
            return check_level(value, what)
        except LevelOutOfRange as exc:
            raise forms.ValidationError(exc.message) from None

    def clean_calibration_spl_db(self) -> float | None:
        return self._plausible("calibration_spl_db", "The calibration")

    def clean_monitoring_level_db(self) -> float | None:
        return self._plausible("monitoring_level_db", "The usual monitoring level")


def _rows(level: float | None) -> list[dict[str, Any]]:
    """What the calibration means: where material at a few RMS levels plays, and for how long a
    day allows it."""
    if level is None:
        return []
    out = []
    for dbfs in PROGRAMME_DBFS:
        spl = monitoring_level(level, dbfs)
        out.append(
            {"dbfs": dbfs, "spl": spl, "allowed": timedelta(minutes=round(allowed_minutes(spl)))}
        )
    return out


@require_http_methods(["GET", "POST"])
@login_required
def hearing_view(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    if not user.is_studio:
        raise PermissionDenied("Monitor calibration is for the studio's engineers.")
    profile = EngineerProfile.objects.filter(user=user).first()
    initial = {
        name: f"{value:g}"
        for name in ("calibration_spl_db", "monitoring_level_db")
        if profile is not None and (value := getattr(profile, name)) is not None
    }
    form = HearingForm(request.POST or None, initial=initial)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                calibration_record(
                    engineer=user,
                    calibration_spl_db=form.cleaned_data["calibration_spl_db"],
                    monitoring_level_db=form.cleaned_data["monitoring_level_db"],
                )
            except WorkflowError as exc:
                form.add_error(None, exc.message)
            else:
                messages.success(request, "Calibration saved; new sessions start at your level.")
                return redirect("hearing")
        status = 400
    policy = StudioPolicy.current()
    return render(
        request,
        "jobs/hearing.html",
        {
            "form": form,
            "profile": profile,
            "expected": profile.expected_level_db if profile else None,
            "rows": _rows(profile.calibration_spl_db if profile else None),
            "dose_today": dose_today(engineer=user),
            "session_limit": policy.session_dose_limit_pct,
            "daily_limit": policy.daily_dose_limit_pct,
            "range": (MIN_SPL_DB, MAX_SPL_DB),
        },
        status=status,
    )
