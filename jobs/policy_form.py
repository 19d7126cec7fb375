"""The studio policy as a form: the delivery promise, calendar, ear-break rules, the at-risk
margin, intake thresholds and size caps, stage estimates and checklists per stage kind, with
checks that say what is wrong in the studio's words. Also the small forms that add a studio
day off or an engineer's day off."""

from __future__ import annotations

import datetime as dt
import functools
import html
from datetime import time
from typing import Any
from zoneinfo import available_timezones

from django import forms
from django.utils.html import conditional_escape
from django.utils.safestring import SafeData, SafeString, mark_safe

from jobs.models import STUDIO_ROLES, StageKind, StudioPolicy, User, default_stage_estimates

WEEKDAYS = [
    (0, "Monday"),
    (1, "Tuesday"),
    (2, "Wednesday"),
    (3, "Thursday"),
    (4, "Friday"),
    (5, "Saturday"),
    (6, "Sunday"),
]
THRESHOLDS = [
    "allowed_clip_events",
    "low_headroom_dbfs",
    "dc_offset_dbfs",
    "phase_inverted_correlation",
    "delivery_true_peak_ceiling_dbtp",
    "stems_offset_tolerance_ms",
    "rough_mix_min_correlation",
]
SIZES = ["max_file_bytes", "max_job_bytes", "max_client_bytes"]
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
    *THRESHOLDS,
    *SIZES,
]
GB = 1024**3
LABELS = {
    "promise_days": "Promise (days)",
    "revision_promise_days": "Promise for a revision round (days)",
    "clock_mode": "The promise counts",
    "timezone": "Time zone",
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
    "allowed_clip_events": "Clip events a stem may have before it must be re-exported",
    "low_headroom_dbfs": "Low headroom: a stem peaking above (dBFS)",
    "dc_offset_dbfs": "DC offset flagged above (dBFS)",
    "phase_inverted_correlation": "Phase inverted: stereo correlation below",
    "delivery_true_peak_ceiling_dbtp": "A delivered master's true peak at most (dBTP)",
    "stems_offset_tolerance_ms": "Stems may start off the rough mix by at most (ms)",
    "rough_mix_min_correlation": "The stems' sum matches the rough mix from (correlation)",
    "max_file_bytes": "Largest file (GB)",
    "max_job_bytes": "All files of one job at most (GB)",
    "max_client_bytes": "All of one client's files at most (GB)",
}
HELP = {
    "allowed_clip_events": "1 up to this many is minor clipping (a warning); more is an error.",
    "low_headroom_dbfs": "We ask for 3 to 6 dB of headroom: -3 warns on a peak above -3 dBFS.",
    "dc_offset_dbfs": "-60 dBFS is 0.1 % of full scale on any channel.",
    "phase_inverted_correlation": "-0.9: the two channels are strongly anti-correlated.",
    "delivery_true_peak_ceiling_dbtp": "Most streaming services ask for -1 dBTP.",
    "stems_offset_tolerance_ms": "The stems are lined up against the rough mix within ±2 s.",
    "rough_mix_min_correlation": "Below this, a stem is likely missing or from another version.",
    "max_file_bytes": "Decimals for less: 0.5 is 512 MB.",
}
# Plausible ranges: (lowest, highest, what to say when outside).
RANGES: dict[str, tuple[float, float, str]] = {
    "session_dose_limit_pct": (
        1,
        100,
        "The dose between breaks is between 1 and 100 % of the daily allowance.",
    ),
    "daily_dose_limit_pct": (
        1,
        100,
        "A day's sound dose is between 1 and 100 % of the daily allowance.",
    ),
    "preview_max_seconds": (5, 600, "A levelling preview is 5 to 600 seconds long."),
    "allowed_clip_events": (0, 100, "Allow between 0 and 100 clip events."),
    "low_headroom_dbfs": (
        -24,
        0,
        "Low headroom is judged between -24 and 0 dBFS (we ask for peaks at -3 to -6).",
    ),
    "dc_offset_dbfs": (
        -120,
        -20,
        "Flag DC offset between -120 and -20 dBFS (-60 is 0.1 % of full scale).",
    ),
    "phase_inverted_correlation": (
        -1,
        0,
        "A correlation runs from -1 to 1; an inverted phase is judged between -1 and 0.",
    ),
    "delivery_true_peak_ceiling_dbtp": (
        -6,
        0,
        "A master's true-peak ceiling lies between -6 and 0 dBTP.",
    ),
    "stems_offset_tolerance_ms": (
        0.1,
        1000,
        "Between 0.1 and 1000 ms: the stems are lined up within ±2 s at most.",
    ),
    "rough_mix_min_correlation": (
        0,
        1,
        "A correlation between 0 and 1 (0.8 is usual; 1 would ask for the very same mix).",
    ),
    "max_file_bytes": (0.01, 100, "A file may be between 0.01 GB (10 MB) and 100 GB."),
    "max_job_bytes": (0.01, 1000, "A job may hold between 0.01 GB and 1000 GB."),
    "max_client_bytes": (0.01, 100000, "A client may keep between 0.01 GB and 100000 GB."),
}
ESTIMATE_BASE_MAX, ESTIMATE_PER_STEM_MAX = 600, 120
CHECKLIST_MAX_ITEMS, CHECKLIST_ITEM_MAX = 15, 120


def estimate_field(kind: str, part: str) -> str:
    return f"estimate_{kind}_{part}"


def checklist_field(kind: str) -> str:
    return f"checklist_{kind}"


def setting_label(setting: str) -> str:
    """How the history names a setting: the form's label, a stage kind's estimate or checklist,
    or a day off."""
    head, _, kind = setting.partition(".")
    kinds = dict(StageKind.choices)
    if head == "stage_estimates" and kind:
        return f"Estimate for {kinds.get(kind, kind)}"
    if head == "checklists" and kind:
        return f"Checklist for {kinds.get(kind, kind)}"
    return {
        "studio_day_off": "Studio day off",
        "engineer_day_off": "An engineer's day off",
        **LABELS,
    }.get(setting, setting)


def form_fields_of(setting: str) -> list[str]:
    """The form's fields that show a recorded setting (to refresh them in a stale form)."""
    head, _, kind = setting.partition(".")
    if head == "stage_estimates" and kind:
        return [estimate_field(kind, "base"), estimate_field(kind, "per_stem")]
    if head == "checklists" and kind:
        return [checklist_field(kind)]
    return [setting] if setting in FIELDS else []


def _attrs(attrs: dict[str, Any]) -> str:
    """Django's widgets/attrs.html, in Python."""
    return "".join(
        f" {name}" if value is True else f' {name}="{conditional_escape(str(value))}"'
        for name, value in attrs.items()
        if value is not False
    )


class QuickSelect(forms.Select):
    """A <select> of plain choices (no groups, one value) written in Python, the markup of
    Django's select.html: the time zone menu has some six hundred options, and Django makes a
    dict and an include of its own for each."""

    def render(
        self,
        name: str,
        value: Any,
        attrs: dict[str, Any] | None = None,
        renderer: Any = None,
    ) -> SafeString:
        chosen = set(self.format_value(value))
        own = _attrs(self.build_attrs(self.attrs, attrs))
        out = [f'<select name="{conditional_escape(name)}"{own}>']
        for option, label in self.choices:
            text = "" if option is None else str(option)
            selected = ""
            if text in chosen:  # only the first, as Django's Select
                selected = " selected"
                chosen = set()
            shown = label if isinstance(label, SafeData) else html.escape(str(label))
            out.append(f'\n  <option value="{html.escape(text)}"{selected}>{shown}</option>')
        out.append("\n</select>")
        return mark_safe("".join(out))


@functools.cache
def _timezones() -> list[tuple[str, str]]:
    return [(z, z) for z in sorted(available_timezones())]


def _number(step: str) -> forms.NumberInput:
    return forms.NumberInput(attrs={"step": step, "inputmode": "decimal"})


class PolicyForm(forms.ModelForm[StudioPolicy]):
    # Choices given as a function: a form's copy of its fields then copies no list of 600.
    timezone = forms.ChoiceField(choices=_timezones, widget=QuickSelect)
    working_weekdays = forms.TypedMultipleChoiceField(
        choices=WEEKDAYS, coerce=int, widget=forms.CheckboxSelectMultiple
    )
    # The policy's version as loaded: saving over a newer one says what changed meanwhile.
    version = forms.CharField(required=False, widget=forms.HiddenInput)
    allowed_clip_events = forms.IntegerField(widget=_number("1"))
    low_headroom_dbfs = forms.FloatField(widget=_number("0.1"))
    dc_offset_dbfs = forms.FloatField(widget=_number("1"))
    phase_inverted_correlation = forms.FloatField(widget=_number("0.01"))
    delivery_true_peak_ceiling_dbtp = forms.FloatField(widget=_number("0.1"))
    stems_offset_tolerance_ms = forms.FloatField(widget=_number("0.1"))
    rough_mix_min_correlation = forms.FloatField(widget=_number("0.01"))
    max_file_bytes = forms.FloatField(widget=_number("any"))
    max_job_bytes = forms.FloatField(widget=_number("any"))
    max_client_bytes = forms.FloatField(widget=_number("any"))

    class Meta:
        model = StudioPolicy
        fields = FIELDS
        widgets = {
            "workday_start": forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
            "workday_end": forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._ranges = dict(RANGES)
        policy = self.instance
        self.initial["version"] = policy.updated_at.isoformat() if policy.updated_at else ""
        for name in SIZES:
            self.initial[name] = round(getattr(policy, name) / GB, 3)
        for name, text in HELP.items():
            self.fields[name].help_text = text
        for name, label in LABELS.items():
            self.fields[name].label = label
        defaults = default_stage_estimates()
        for kind, label in StageKind.choices:
            entry = (policy.stage_estimates or {}).get(kind) or defaults[kind]
            for part, most, words in (
                ("base", ESTIMATE_BASE_MAX, "minutes"),
                ("per_stem", ESTIMATE_PER_STEM_MAX, "minutes per stem"),
            ):
                name = estimate_field(kind, part)
                self.fields[name] = forms.IntegerField(
                    label=f"{label}: {'base' if part == 'base' else 'per stem'} ({words})",
                    widget=_number("1"),
                    error_messages={"required": "Give the minutes (0 for none)."},
                )
                self.initial[name] = int(entry.get(part, 0))
                self._ranges[name] = (0, most, f"Between 0 and {most} {words}.")
            name = checklist_field(kind)
            self.fields[name] = forms.CharField(
                label=label,
                required=False,
                widget=forms.Textarea(attrs={"rows": 4}),
            )
            self.initial[name] = "\n".join(policy.checklist_items(kind))

    def estimate_rows(self) -> list[tuple[str, forms.BoundField, forms.BoundField]]:
        """Per stage kind: its name and its two estimate fields, for the template's grid."""
        return [
            (label, self[estimate_field(kind, "base")], self[estimate_field(kind, "per_stem")])
            for kind, label in StageKind.choices
        ]

    def checklist_fields(self) -> list[forms.BoundField]:
        return [self[checklist_field(kind)] for kind in StageKind.values]

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

    def _clean_checklist(self, kind: str, label: str) -> None:
        name = checklist_field(kind)
        if name not in self.cleaned_data:
            return
        items = [line.strip() for line in str(self.cleaned_data[name]).splitlines()]
        items = [i for i in items if i]
        seen: set[str] = set()
        for item in items:
            if len(item) > CHECKLIST_ITEM_MAX:
                self.add_error(
                    name, f"Keep each item under {CHECKLIST_ITEM_MAX} characters: “{item[:30]}…”."
                )
                return
            if item.casefold() in seen:
                self.add_error(name, f"“{item}” is listed twice.")
                return
            seen.add(item.casefold())
        if len(items) > CHECKLIST_MAX_ITEMS:
            self.add_error(
                name, f"{label} has {len(items)} items; keep it to {CHECKLIST_MAX_ITEMS} at most."
            )
            return
        self.cleaned_data[name] = items

    def clean(self) -> dict[str, Any]:
        data: dict[str, Any] = super().clean() or {}
        for name, (lowest, highest, message) in self._ranges.items():
            value = data.get(name)
            if value is not None and not lowest <= value <= highest:
                self.add_error(name, message)
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
        for name in SIZES:
            if name in data:
                # A size shown rounded (10 MB is 0.01 GB) and left alone keeps its exact bytes.
                old = getattr(self.instance, name)
                data[name] = old if data[name] == round(old / GB, 3) else round(data[name] * GB)
        file_, job, client = (data.get(n) for n in SIZES)
        if file_ and job and job < file_:
            self.add_error(
                "max_job_bytes", "A job must hold at least one file of the largest size."
            )
        if job and client and client < job:
            self.add_error(
                "max_client_bytes", "A client's storage must hold at least one whole job."
            )
        for kind, label in StageKind.choices:
            self._clean_checklist(kind, label)
        return data

    def policy_values(self) -> dict[str, Any]:
        """The cleaned settings by the policy's field names (stage estimates and checklists as
        the policy keeps them)."""
        data = self.cleaned_data
        values = {name: data[name] for name in FIELDS}
        values["stage_estimates"] = {
            kind: {
                "base": data[estimate_field(kind, "base")],
                "per_stem": data[estimate_field(kind, "per_stem")],
            }
            for kind in StageKind.values
        }
        values["checklists"] = {kind: data[checklist_field(kind)] for kind in StageKind.values}
        return values


def form_value(value: Any) -> str | list[str]:
    """A setting as a form posts it (to put a current value into a stale form's data)."""
    if isinstance(value, list | tuple):
        return [str(v) for v in value]
    if isinstance(value, time):
        return value.strftime("%H:%M")
    return "" if value is None else str(value)


class PersonChoiceField(forms.ModelChoiceField[User]):
    def label_from_instance(self, obj: User) -> str:
        return obj.get_full_name() or obj.username


class DayOffForm(forms.Form):
    """A day the whole studio is closed, or (with `engineer`) one engineer's day off."""

    date = forms.DateField(
        widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={"required": "Give the day.", "invalid": "Give the day as a date."},
    )
    reason = forms.CharField(
        max_length=200,
        required=False,
        error_messages={"max_length": "Keep the reason under 200 characters."},
    )

    def __init__(self, *args: Any, today: dt.date, with_engineer: bool = False, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.today = today
        if with_engineer:
            self.fields["engineer"] = PersonChoiceField(
                label="Who is off",
                widget=QuickSelect,
                empty_label="Choose someone",
                queryset=User.objects.filter(role__in=STUDIO_ROLES, is_active=True).order_by(
                    "first_name", "username"
                ),
                error_messages={
                    "required": "Choose whose day off it is.",
                    "invalid_choice": "Choose someone at the studio.",
                },
            )
            self.order_fields(["engineer", "date", "reason"])

    def clean_date(self) -> dt.date:
        day: dt.date = self.cleaned_data["date"]
        if day < self.today:
            raise forms.ValidationError("That day has passed; days off are for planning ahead.")
        if (day - self.today).days > 730:
            raise forms.ValidationError("Plan days off up to two years ahead.")
        return day
