"""The studio policy as a form: the delivery promise, calendar, ear-break rules and the at-risk
margin, with checks that say what is wrong in the studio's words."""

from __future__ import annotations

from typing import Any
from zoneinfo import available_timezones

from django import forms

from jobs.models import StudioPolicy

WEEKDAYS = [
    (0, "Monday"),
    (1, "Tuesday"),
    (2, "Wednesday"),
    (3, "Thursday"),
    (4, "Friday"),
    (5, "Saturday"),
    (6, "Sunday"),
]
FIELDS = [
    "promise_days",
    "revision_promise_days",
    "clock_mode",
    "timezone",
    "workday_start",
    "workday_end",
    "working_weekdays",
    "at_risk_margin_hours",
    "max_continuous_listening_min",
    "short_break_min",
    "long_break_min",
    "long_break_every",
    "daily_listening_cap_min",
    "fresh_ears_break_min",
    "session_dose_limit_pct",
    "daily_dose_limit_pct",
    "preview_max_seconds",
]


class PolicyForm(forms.ModelForm[StudioPolicy]):
    timezone = forms.ChoiceField(choices=[(z, z) for z in sorted(available_timezones())])
    working_weekdays = forms.TypedMultipleChoiceField(
        choices=WEEKDAYS, coerce=int, widget=forms.CheckboxSelectMultiple
    )

    class Meta:
        model = StudioPolicy
        fields = FIELDS
        widgets = {
            "workday_start": forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
            "workday_end": forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
        }
        labels = {
            "promise_days": "Promise (days)",
            "revision_promise_days": "Promise for a revision round (days)",
            "clock_mode": "The promise counts",
            "workday_start": "Working day starts",
            "workday_end": "Working day ends",
            "working_weekdays": "Working days",
            "at_risk_margin_hours": "At risk when the plan ends closer to due than (hours)",
            "max_continuous_listening_min": "Longest listening without a break (minutes)",
            "short_break_min": "Short ear break (minutes)",
            "long_break_min": "Long ear break (minutes)",
            "long_break_every": "A long break after this many blocks",
            "daily_listening_cap_min": "Listening per day at most (minutes)",
            "fresh_ears_break_min": "Break before a fresh-ears stage (minutes)",
            "session_dose_limit_pct": "Sound dose between breaks at most (% of a day's allowance)",
            "daily_dose_limit_pct": "Sound dose per day at most (% of NIOSH's daily allowance)",
            "preview_max_seconds": "Longest levelling preview sent to a client (seconds)",
        }

    def clean_promise_days(self) -> int:
        value: int = self.cleaned_data["promise_days"]
        if value < 1:
            raise forms.ValidationError("Promise at least one day.")
        return value

    def clean_max_continuous_listening_min(self) -> int:
        value: int = self.cleaned_data["max_continuous_listening_min"]
        if value < 5:
            raise forms.ValidationError("A listening block is at least 5 minutes.")
        return value

    def clean_long_break_every(self) -> int:
        value: int = self.cleaned_data["long_break_every"]
        if value < 1:
            raise forms.ValidationError("A long break comes after at least one block.")
        return value

    def clean_daily_dose_limit_pct(self) -> int:
        value: int = self.cleaned_data["daily_dose_limit_pct"]
        if not 1 <= value <= 100:
            raise forms.ValidationError(
                "A day's sound dose is between 1 and 100 % of the daily allowance."
            )
        return value

    def clean_session_dose_limit_pct(self) -> int:
        value: int = self.cleaned_data["session_dose_limit_pct"]
        if not 1 <= value <= 100:
            raise forms.ValidationError(
                "The dose between breaks is between 1 and 100 % of the daily allowance."
            )
        return value

    def clean_preview_max_seconds(self) -> int:
        value: int = self.cleaned_data["preview_max_seconds"]
        if not 5 <= value <= 600:
            raise forms.ValidationError("A levelling preview is 5 to 600 seconds long.")
        return value

    def clean(self) -> dict[str, Any]:
        data: dict[str, Any] = super().clean() or {}
        start, end = data.get("workday_start"), data.get("workday_end")
        if start and end and start >= end:
            self.add_error("workday_end", "The working day must end after it starts.")
        short, long_ = data.get("short_break_min"), data.get("long_break_min")
        if short is not None and long_ is not None and long_ < short:
            self.add_error("long_break_min", "A long break cannot be shorter than a short one.")
        block, cap = data.get("max_continuous_listening_min"), data.get("daily_listening_cap_min")
        if block and cap is not None and cap < block:
            self.add_error(
                "daily_listening_cap_min", "The daily cap must allow at least one listening block."
            )
        sitting, day = data.get("session_dose_limit_pct"), data.get("daily_dose_limit_pct")
        if sitting is not None and day is not None and sitting > day:
            self.add_error(
                "session_dose_limit_pct", "The dose between breaks cannot exceed the day's."
            )
        return data
