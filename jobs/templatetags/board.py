"""Template filters and tags for the manager's pages: lengths of time as a studio says them, and
the big repeated parts of the board, workload and compliance pages written in one pass."""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django import template
from django.template.defaulttags import CsrfTokenNode
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe

from jobs.board import CLOSED_VIEW, Board
from jobs.compliance import EngineerCompliance
from jobs.fragments import kept
from jobs.models import JobStatus, Stage, StageKind
from jobs.timeline import local_time
from jobs.workload import Day, EngineerLoad, Workload

register = template.Library()
JOB_STATUSES = dict(JobStatus.choices)
STAGE_KINDS = dict(StageKind.choices)


@register.filter
def span(delta: timedelta | None) -> str:
    """A length of time in days and hours ("2 d 4 h", "35 min", a minus sign when behind)."""
    if delta is None:
        return "\u2013"  # an en dash: no value
    sign = "\u2212" if delta < timedelta(0) else ""
    minutes = int(abs(delta).total_seconds() // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        text = f"{days} d {hours} h" if hours else f"{days} d"
    elif hours:
        text = f"{hours} h {mins} min" if mins and hours < 3 else f"{hours} h"
    else:
        text = f"{mins} min"
    return sign + text


@register.filter
def minutes(value: int | None) -> str:
    """A number of minutes as hours and minutes ("4 h 30 min")."""
    if not value:
        return "0 min"
    hours, mins = divmod(int(value), 60)
    if hours and mins:
        return f"{hours} h {mins} min"
    return f"{hours} h" if hours else f"{mins} min"


@register.simple_tag
def choice_options(choices: list[tuple[int, str]], selected: int | None) -> SafeString:
    """The <option>s of a filter menu of (id, name), `selected` chosen: in one pass rather than
    a template loop over a hundred people or clients."""
    return mark_safe(
        "".join(
            f'<option value="{pk}"{" selected" if pk == selected else ""}>{html.escape(name)}'
            "</option>"
            for pk, name in choices
        )
    )


def _time(moment: datetime, text: str) -> str:
    return f'<time datetime="{moment.isoformat()}">{text}</time>'


@register.simple_tag
def board_rows(result: Board) -> SafeString:
    """The board's table rows, written in Python: fifty rows of a dozen cells each are too many
    variable lookups and filters for the template language to do on every request. The same
    markup the template wrote (see the test of the board), in the current timezone."""
    closed = result.filters.view == CLOSED_VIEW
    if not result.rows:
        if result.filters.active:
            empty = "No job matches these filters."
        elif closed:
            empty = "No closed jobs yet."
        else:
            empty = "No open jobs: nothing is waiting."
        return mark_safe(f'      <tr><td colspan="10">{empty}</td></tr>\n')
    # One reverse for the whole table: the job's id is the only part that changes.
    marker = "00000000-0000-0000-0000-000000000000"
    job_url = reverse("job_detail", args=[marker])
    out: list[str] = []
    for r in result.rows:
        job = r.job
        state = f" state-{r.state}" if r.state else ""
        artist = f' <span class="muted">· {html.escape(job.artist)}</span>' if job.artist else ""
        if r.stage:
            stage = STAGE_KINDS.get(r.stage.kind, r.stage.kind)
        else:
            stage = "All done" if r.done else "\u2013"
        if r.done or r.stage:
            stage += f' <span class="muted">({r.done} of {r.total})</span>'
        on_it = (
            ", ".join(html.escape(e.get_full_name() or e.username) for e in r.engineers)
            if r.engineers
            else '<span class="muted">no one yet</span>'
        )
        due = (
            _time(job.due_at, local_time(timezone.localtime(job.due_at)))
            if job.due_at
            else "\u2013"
        )
        cells = [
            f'<td data-label="Track"><a href="{job_url.replace(marker, str(job.pk))}">'
            f"{html.escape(job.track_title)}</a>{artist}</td>",
            f'<td data-label="Client">{html.escape(job.organisation.name)}</td>',
            f'<td data-label="Status">{JOB_STATUSES.get(job.status, job.status)}</td>',
            f'<td data-label="Stage">{stage}</td>',
            f'<td data-label="On it">{on_it}</td>',
            f'<td data-label="Due">{due}</td>',
        ]
        if closed:
            if job.closed_at:
                at = timezone.localtime(job.closed_at)
                shown = _time(job.closed_at, f"{at:%a} {at.day} {at:%b} {at:%Y}")
            else:
                shown = "\u2013"
            cells.append(f'<td data-label="Closed">{shown}</td>')
        else:
            predicted = job.predicted_finish_at
            behind = "behind" if r.slack and r.slack.total_seconds() < 0 else ""
            cells += [
                '<td data-label="Predicted">'
                + (
                    _time(predicted, local_time(timezone.localtime(predicted)))
                    if r.state and predicted
                    else "\u2013"
                )
                + "</td>",
                f'<td data-label="Slack" class="{behind}">{span(r.slack)}</td>',
                f'<td data-label="Paused">{span(r.paused) if r.paused else chr(0x2013)}</td>',
                '<td data-label="Deadline">'
                + (
                    f'<span class="deadline-badge badge-{r.state}">{r.state_label}</span>'
                    if r.state
                    else '<span class="muted">no clock</span>'
                )
                + "</td>",
            ]
        out.append(
            f'      <tr class="board-row{state}">\n        '
            + "\n        ".join(cells)
            + "\n      </tr>\n"
        )
    return mark_safe("".join(out))


def whole(value: float) -> str:
    """A number rounded to a whole one, half up, as `floatformat:0` shows it."""
    rounded = Decimal(str(float(value))).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    return "0" if rounded == 0 else f"{rounded:f}"


def _plural(n: int) -> str:
    return "" if n == 1 else "s"


@register.simple_tag
def compliance_section(r: EngineerCompliance) -> SafeString:
    """One engineer's section of the break-compliance page, written in Python: a week of a
    hundred engineers is some seven hundred days, too many variable lookups and filters for
    the template language on every request. The same markup the template wrote; kept as a
    fragment for its key (EngineerCompliance.key), since most weeks' figures are settled."""
    return mark_safe(kept("compliance-section", r.key, lambda: _compliance_section(r)))


def _compliance_section(r: EngineerCompliance) -> str:
    pk = r.person.pk
    name = html.escape(r.person.get_full_name() or r.person.username)
    summary = (
        f"Breaks due <strong>{r.prompted}</strong> · taken <strong>{r.taken}</strong> · "
        f"skipped <strong>{r.skipped}</strong>"
    )
    if r.rate is not None:
        summary += f" ({r.rate}% taken)"
    summary += f" · listening {minutes(r.total_minutes)}"
    over_cap = r.days_over_cap
    if over_cap:
        summary += f' · <span class="error">{over_cap} day{_plural(over_cap)} over the cap</span>'
    highest = r.highest_dose
    if highest is not None:
        summary += f" · highest sound dose {whole(highest)} %"
        over_dose = r.days_over_dose
        if over_dose:
            summary += (
                f' · <span class="error">{over_dose} day{_plural(over_dose)} over the dose '
                "limit</span>"
            )
    out = [
        f'<section class="engineer-load" aria-labelledby="c-{pk}">\n'
        f'  <h2 id="c-{pk}">{name}</h2>\n'
        f"  <p>{summary}</p>\n"
        f'  <p class="overrides-summary">Fresh-ears overrides <strong>{len(r.overrides)}'
        "</strong></p>\n"
    ]
    if r.overrides:
        marker = "00000000-0000-0000-0000-000000000000"
        job_url = reverse("job_detail", args=[marker])
        out.append(
            f'  <ul class="fresh-ears-overrides" aria-label="Fresh-ears overrides of {name}">\n    '
        )
        for o in r.overrides:
            reason = f": “{html.escape(o.reason)}”" if o.reason else ""
            out.append(
                f'<li>{_time(o.at, o.when)} · <a href="{job_url.replace(marker, str(o.job_id))}">'
                f"{html.escape(o.track)}</a>, {html.escape(o.stage)} · by "
                f"{html.escape(o.by or 'someone')}{reason}</li>"
            )
        out.append("\n  </ul>\n")
    out.append('  <ol class="load-days">\n    ')
    for d in r.days:
        day = d.day
        dose = ""
        if d.dose is not None:
            dose = (
                f'<span class="day-dose{" over" if d.over_dose else ""}" data-day-dose>'
                f"dose {whole(d.dose)} %</span>"
            )
        out.append(
            f'<li class="load-day{" over" if d.over_cap else ""}">'
            f"<h3>{day:%a} {day.day} {day:%b}</h3>\n"
            f'      <meter min="0" max="{d.cap}" high="{d.cap}" value="{d.minutes}" '
            f'aria-label="Listening against the cap">{d.minutes}</meter>\n'
            f'      <span class="load-figure">{minutes(d.minutes)}</span> '
            f'<span class="muted">of {minutes(d.cap)}</span>\n'
            f"      {dose}</li>"
        )
    out.append("\n  </ol>\n</section>\n")
    return "".join(out)


class _PeopleMenu:
    """A "who does it" menu's options, escaped once per page; each row's menu differs only in
    the option chosen."""

    def __init__(self, people: list[tuple[int, str]]) -> None:
        self.names = [(pk, html.escape(name)) for pk, name in people]
        self.options = [f'<option value="{pk}">{name}</option>' for pk, name in self.names]
        self.place = {pk: n for n, (pk, _) in enumerate(self.names)}

    def html(self, selected: int | None, *, proposed: bool = False) -> str:
        n = self.place.get(selected) if selected is not None else None
        if n is None:
            return "".join(self.options)
        pk, name = self.names[n]
        mark = " (proposed)" if proposed else ""
        chosen = f'<option value="{pk}" selected>{name}{mark}</option>'
        return "".join([*self.options[:n], chosen, *self.options[n + 1 :]])


_STAGE_MARKER = 2_147_000_000  # a stage id no studio reaches, replaced in a reversed URL


@dataclass(frozen=True)
class _PageParts:
    """What every form of the workload page shares, made once per page."""

    people: _PeopleMenu
    csrf: str
    assign_url: str  # with _STAGE_MARKER for the stage's id

    def assign(self, stage_id: int) -> str:
        return self.assign_url.replace(str(_STAGE_MARKER), str(stage_id))


def _page_parts(context: template.Context, load: Workload) -> _PageParts:
    key = f"workload_parts:{id(load)}"
    parts: _PageParts | None = context.render_context.get(key)
    if parts is None:
        parts = _PageParts(
            people=_PeopleMenu(load.people),
            csrf=CsrfTokenNode().render(context),
            assign_url=reverse("workload_assign", args=[_STAGE_MARKER]),
        )
        context.render_context[key] = parts
    return parts


def _assign_form(
    *,
    stage: Stage,
    parts: _PageParts,
    was: str,
    what: str,
    label_id: str,
    menu: str,
    button: str,
) -> str:
    kind = STAGE_KINDS.get(stage.kind, stage.kind)
    title = html.escape(stage.job.track_title)
    return (
        f'  <form method="post" action="{parts.assign(stage.pk)}" class="assign-row">\n'
        f"    {parts.csrf}\n"
        f'    <input type="hidden" name="was" value="{was}">\n'
        f'    <span class="assign-what">{what}</span>\n'
        f'    <label for="{label_id}" class="visually-hidden">Engineer for {title} · {kind}'
        "</label>\n"
        f'    <select id="{label_id}" name="engineer">\n'
        f"      {menu}\n"
        "    </select>\n"
        f'    <button type="submit">{button}</button>\n'
        "  </form>\n"
    )


@register.simple_tag(takes_context=True)
def workload_unassigned(context: template.Context, load: Workload) -> SafeString:
    """The unassigned stages' forms, each with the plan's proposal chosen."""
    parts = _page_parts(context, load)
    marker = "00000000-0000-0000-0000-000000000000"
    job_url = reverse("job_detail", args=[marker])
    out = []
    for u in load.unassigned:
        s = u.stage
        kind = STAGE_KINDS.get(s.kind, s.kind)
        finish = ""
        if u.finish:
            finish = (
                f' <span class="muted">(would finish '
                f"{local_time(timezone.localtime(u.finish))})</span>"
            )
        what = (
            f'<a href="{job_url.replace(marker, str(s.job_id))}">'
            f"{html.escape(s.job.track_title)}</a> · {kind}{finish}"
        )
        out.append(
            _assign_form(
                stage=s,
                parts=parts,
                was="",
                what=what,
                label_id=f"assign-{s.pk}",
                menu=parts.people.html(u.proposed.pk if u.proposed else None, proposed=True),
                button="Assign",
            )
        )
    return mark_safe("".join(out))


def _day(d: Day) -> str:
    classes = (" off" if d.off else "") + (" over" if d.over_cap else "")
    head = f'    <li class="load-day{classes}">\n      <h3>{d.day:%a} {d.day.day} {d.day:%b}</h3>\n'
    if d.off:
        return head + '      <p class="muted">Day off</p>\n    </li>\n'
    if d.blocks:
        slots = "".join(
            f'<li class="slot-{b.kind}"><time datetime="{b.start.isoformat()}">{b.start_text}'
            f"</time>\u2013{b.end_text} {html.escape(b.label)}</li>"
            for b in d.blocks
        )
    else:
        slots = '<li class="muted">Nothing planned</li>'
    return (
        head + f'      <p><meter min="0" max="{d.cap_min}" high="{d.cap_min}" '
        f'value="{d.planned_min}" aria-label="Listening planned">{d.load_percent}%</meter>\n'
        f'        <span class="load-figure">{minutes(d.planned_min)} of {minutes(d.cap_min)} '
        "cap</span>\n"
        f'        <span class="muted">· hours {minutes(d.hours_min)}</span></p>\n'
        f'      <ul class="slots">\n        {slots}\n      </ul>\n'
        "    </li>\n"
    )


@register.simple_tag(takes_context=True)
def workload_engineer(context: template.Context, e: EngineerLoad, load: Workload) -> SafeString:
    """One engineer's days from the plan and the forms to reassign their most urgent stages,
    written in Python: ten engineers' weeks are over a thousand blocks and eighty forms, too
    many variable lookups for the template language on every request. The same markup the
    template wrote."""
    pk = e.person.pk
    name = html.escape(e.person.get_full_name() or e.person.username)
    out = [
        f'<section class="engineer-load" aria-labelledby="eng-{pk}">\n'
        f'  <h2 id="eng-{pk}">{name} <span class="muted">· {minutes(e.planned_min)} planned'
        "</span></h2>\n"
        '  <ol class="load-days">\n',
        kept("workload-days", e.days_key, lambda: "".join(_day(d) for d in e.days)),
        "  </ol>\n",
    ]
    if e.stages:
        parts = _page_parts(context, load)
        count = len(e.stages)
        if e.more:
            summary = f"the {count} most urgent of {e.open_count} open stages"
        else:
            summary = f"{count} open stage{_plural(count)}"
        out.append(f'  <details class="reassign">\n    <summary>Reassign {summary}</summary>\n')
        for s in e.stages:
            kind = STAGE_KINDS.get(s.kind, s.kind)
            due = ""
            if s.job.due_at:
                at = local_time(timezone.localtime(s.job.due_at))
                due = f' <span class="muted">(due {at})</span>'
            out.append(
                _assign_form(
                    stage=s,
                    parts=parts,
                    was="" if s.assignee_id is None else str(s.assignee_id),
                    what=f"{html.escape(s.job.track_title)} · {kind}{due}",
                    label_id=f"reassign-{s.pk}",
                    menu=parts.people.html(s.assignee_id),
                    button="Reassign",
                )
            )
        if e.more:
            out.append(
                f'    <p><a href="{reverse("board")}?engineer={pk}">{e.more} more on the board'
                "</a></p>\n"
            )
        out.append("  </details>\n")
    out.append("</section>\n")
    return mark_safe("".join(out))
