"""Listening sessions and ear breaks: the engineer's session timer and its break prompts.

A session is one engineer listening on one stage. `break_due` says when the policy wants the
next break; the page prompts it (`break_prompt`), the engineer takes or skips it, and stopping the
session logs the listening time (breaks taken excluded) on the stage. Managers read
`break_compliance`. Services layer; the engineer's `EarBreakPolicy` comes from
`jobs/plan_store.py`, so the timer prompts the same breaks the planner plans.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.db import IntegrityError, transaction
from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from jobs.access import SESSION_VALUES, sessions_from
from jobs.compiled import columns, instance_from, rows_compiled_once
from jobs.dose import Exposure, LevelOutOfRange, check_level, dose_between, exposures, minutes_left
from jobs.models import (
    FRESH_EARS_STAGES,
    BreakCause,
    BreakKind,
    BreakOutcome,
    EarBreak,
    EngineerProfile,
    JobStatus,
    ListeningSession,
    Stage,
    StageStatus,
    StudioPolicy,
    User,
)
from jobs.plan_store import ear_break_policy
from jobs.planner import EarBreakPolicy
from jobs.services import NotAllowed, WrongState


@dataclass(frozen=True)
class BreakDue:
    """The next break the policy asks for: its kind, when it is due and how long it lasts."""

    kind: str
    due_at: datetime
    minutes: int
    cause: str = BreakCause.MINUTES

    def is_due(self, now: datetime) -> bool:
        return now >= self.due_at

    @property
    def label(self) -> str:
        return str(BreakKind(self.kind).label)


@dataclass(frozen=True)
class Compliance:
    prompted: int
    taken: int
    skipped: int

    @property
    def rate(self) -> float | None:
        """Breaks taken out of breaks answered; None before any break was asked for."""
        answered = self.taken + self.skipped
        return self.taken / answered if answered else None


@dataclass(frozen=True)
class EarRules:
    """An engineer's ear-break rules, their timezone (their profile's, else the studio's) and
    the start of their local day: read once per request (two queries) and passed on."""

    policy: EarBreakPolicy
    zone: ZoneInfo
    day_start: datetime
    session_dose_limit: int  # percent of the daily allowance between breaks
    daily_dose_limit: int  # percent of the daily allowance per day
    expected_level: float | None  # dB SPL a session starts at (None: no calibration)


_PROFILE_FIELDS = columns(EngineerProfile)
_SESSION_FIELDS = columns(ListeningSession)


def _profile_of(engineer_id: int) -> EngineerProfile | None:
    """`EngineerProfile.objects.filter(user_id=...).first()`, from SQL compiled once (read on
    every desk, poll and move)."""
    rows = rows_compiled_once(
        "engineer_profile",
        lambda uid: (
            EngineerProfile.objects.filter(user_id=uid).order_by("pk").values(*_PROFILE_FIELDS)[:1]
        ),
        engineer_id,
    )
    return instance_from(EngineerProfile, rows[0]) if rows else None


def _sessions_of(key: str, build: Any, *values: Any) -> list[ListeningSession]:
    return [instance_from(ListeningSession, row) for row in rows_compiled_once(key, build, *values)]


def _rules_for(engineer_id: int, now: datetime) -> EarRules:
    profile = _profile_of(engineer_id)
    studio = StudioPolicy.current()
    zone = ZoneInfo(profile.timezone if profile else studio.timezone)
    day = now.astimezone(zone).replace(hour=0, minute=0, second=0, microsecond=0)
    return EarRules(
        ear_break_policy(studio, profile),
        zone,
        day,
        studio.session_dose_limit_pct,
        studio.daily_dose_limit_pct,
        profile.expected_level_db if profile else None,
    )


def ear_rules(*, engineer: User, now: datetime | None = None) -> EarRules:
    return _rules_for(engineer.pk, now or timezone.now())


def _ear_break_policy_for(engineer: User) -> EarBreakPolicy:
    return _rules_for(engineer.pk, timezone.now()).policy


def _lock_session(session: ListeningSession) -> ListeningSession:
    return ListeningSession.objects.select_for_update().select_related("stage").get(pk=session.pk)


def _day_start(engineer: User, now: datetime) -> datetime:
    return _rules_for(engineer.pk, now).day_start


def _level(level_db: float | None, engineer: User) -> float | None:
    """The level asked for (refused outside the plausible range), or the engineer's usual one."""
    if level_db is None:
        profile = _profile_of(engineer.pk)
        return profile.expected_level_db if profile else None
    try:
        return check_level(level_db)
    except LevelOutOfRange as exc:
        raise WrongState(exc.message) from None


def session_start(*, stage: Stage, by: User, level_db: float | None = None) -> ListeningSession:
    """Start listening on a stage the engineer is assigned to and that is in progress, at
    `level_db` (dB SPL at the listening position; by default the level the engineer recorded
    with their calibration; with neither, no sound dose is counted)."""
    level = _level(level_db, by)
    with transaction.atomic():
        locked = Stage.objects.select_for_update().select_related("job").get(pk=stage.pk)
        if not (by.is_studio and by.is_active) or locked.assignee_id != by.pk:
            raise NotAllowed("Only the engineer assigned to this stage can listen on it.")
        if locked.status != StageStatus.IN_PROGRESS or locked.job.status != JobStatus.IN_PROGRESS:
            raise WrongState("Start the stage before listening on it.")
        if ListeningSession.objects.filter(engineer=by, ended_at__isnull=True).exists():
            raise WrongState("You already have a listening session running; stop it first.")
        try:
            with transaction.atomic():
                now = timezone.now()
                return ListeningSession.objects.create(
                    engineer=by,
                    stage=locked,
                    started_at=now,
                    levels=[[now.isoformat(), level]] if level is not None else [],
                )
        except IntegrityError:
            # Two tabs starting at once: the database keeps one open session per engineer.
            raise WrongState("You already have a listening session running.") from None


@dataclass(frozen=True)
class _Ears:
    """What the timer's questions need about one session, read in a fixed number of queries:
    the engineer's rules, the sessions just before this one (newest first), today's sessions,
    and every break among them or since the ears last rested."""

    rules: EarRules
    previous: list[ListeningSession]
    today: list[ListeningSession]
    breaks: list[EarBreak]

    def of(self, session_id: int, outcome: str) -> list[EarBreak]:
        return [b for b in self.breaks if b.session_id == session_id and b.outcome == outcome]


# How far back a run of sessions without a rest between them is followed.
_HOPS = 20


def _ears_for(session: ListeningSession, now: datetime, rules: EarRules | None = None) -> _Ears:
    rules = rules or _rules_for(session.engineer_id, now)
    previous = _sessions_of(
        "sessions_before",
        lambda uid, before: (
            ListeningSession.objects.filter(
                engineer_id=uid, ended_at__isnull=False, started_at__lt=before
            )
            .order_by("-started_at")
            .values(*_SESSION_FIELDS)[:_HOPS]
        ),
        session.engineer_id,
        session.started_at,
    )
    today = _sessions_today(session.engineer_id, rules.day_start)
    since = _since_sessions(session, previous, rules.policy)
    ids = {session.pk, *(p.pk for p in previous), *(t.pk for t in today)}
    # The breaks of these sessions, or asked for today, or ended since the ears last rested.
    # A list of ids of any length has no SQL compiled once: the SQL asks for the breaks of
    # every session started since the first of them (all of these, perhaps a few more), and
    # those of another session are dropped here, in the SQL's order.
    first = min(s.started_at for s in (session, *previous, *today))
    rows = rows_compiled_once(
        "ear_breaks", _break_rows, session.engineer_id, first, rules.day_start, since
    )
    breaks = [
        b
        for b in (instance_from(EarBreak, row) for row in rows)
        if b.session_id in ids
        or b.prompted_at >= rules.day_start
        or (b.ended_at is not None and b.ended_at > since)
    ]
    return _Ears(rules, previous, today, breaks)


_BREAK_FIELDS = columns(EarBreak)


def _break_rows(
    engineer_id: int, first_start: datetime, day_start: datetime, since: datetime
) -> QuerySet[Any]:
    rows: QuerySet[Any] = (
        EarBreak.objects.filter(engineer_id=engineer_id)
        .filter(
            Q(session__started_at__gte=first_start)
            | Q(prompted_at__gte=day_start)
            | Q(ended_at__gt=since)
        )
        .values(*_BREAK_FIELDS)
    )
    return rows


def _sessions_today(engineer_id: int, day_start: datetime) -> list[ListeningSession]:
    return _sessions_of(
        "sessions_today",
        lambda uid, start: (
            ListeningSession.objects.filter(engineer_id=uid)
            .filter(Q(ended_at__isnull=True) | Q(ended_at__gt=start))
            .values(*_SESSION_FIELDS)
        ),
        engineer_id,
        day_start,
    )


def _since_sessions(
    session: ListeningSession, previous: list[ListeningSession], policy: EarBreakPolicy
) -> datetime:
    """The session start, or earlier if the engineer hopped from another session without a
    break in between."""
    since = session.started_at
    gap = timedelta(minutes=policy.short_break)
    for p in previous:
        assert p.ended_at is not None
        if since - p.ended_at >= gap:
            break
        since = p.started_at
    return since


def _listening_since(session: ListeningSession, ears: _Ears) -> datetime:
    """When the ears last rested: the session start, or earlier if the engineer hopped from
    another session without a break in between, or the end of the last break taken."""
    since = _since_sessions(session, ears.previous, ears.rules.policy)
    taken = [
        b.ended_at
        for b in ears.breaks
        if b.outcome == BreakOutcome.TAKEN and b.ended_at is not None and b.ended_at > since
    ]
    return max(taken, default=since)


def _last_listening_before(session: ListeningSession, ears: _Ears) -> datetime | None:
    """The last moment the engineer was actually listening before this session began (a break
    taken at the end of the previous session is rest, not listening)."""
    ended = [
        p
        for p in ears.previous
        if p.pk != session.pk and p.ended_at is not None and p.ended_at <= session.started_at
    ]
    if not ended:
        return None
    previous = max(ended, key=lambda p: p.ended_at or session.started_at)
    assert previous.ended_at is not None
    end = last = previous.ended_at
    for b in ears.of(previous.pk, BreakOutcome.TAKEN):
        if b.started_at is not None and b.ended_at is not None and b.started_at < end <= b.ended_at:
            last = min(last, b.started_at)
    return last


def calibration_record(
    *, engineer: User, calibration_spl_db: float, monitoring_level_db: float | None
) -> EngineerProfile:
    """An engineer records their monitor calibration (what pink noise at -20 dBFS RMS reads at
    their listening position) and the level they usually monitor at (blank: the calibration)."""
    if not (engineer.is_studio and engineer.is_active):
        raise NotAllowed("Only the studio's engineers record a monitor calibration.")
    try:
        calibration = check_level(calibration_spl_db, "The calibration")
        usual = (
            None
            if monitoring_level_db is None
            else check_level(monitoring_level_db, "The usual monitoring level")
        )
    except LevelOutOfRange as exc:
        raise WrongState(exc.message) from None
    profile, _ = EngineerProfile.objects.get_or_create(user=engineer)
    profile.calibration_spl_db = calibration
    profile.monitoring_level_db = usual
    profile.save(update_fields=["calibration_spl_db", "monitoring_level_db"])
    return profile


def session_level_change(
    *, session: ListeningSession, by: User, level_db: float
) -> ListeningSession:
    """The engineer turns the monitors up or down: the dose counts the new level from now."""
    level = _level(level_db, by)
    with transaction.atomic():
        locked = _lock_session(session)
        if locked.engineer_id != by.pk:
            raise NotAllowed("Only the engineer listening can change the level.")
        if locked.ended_at is not None:
            raise WrongState("This session has already stopped.")
        locked.levels = [*locked.levels, [timezone.now().isoformat(), level]]
        locked.save(update_fields=["levels"])
    return locked


def _exposures(
    session: ListeningSession, now: datetime, breaks: list[EarBreak] | None = None
) -> list[Exposure]:
    """The session's listening at each level, breaks taken cut out (`breaks`: the session's
    breaks taken, when the caller has read them)."""
    if not session.levels:
        return []
    end = min(session.ended_at or now, now)
    if breaks is None:
        breaks = list(EarBreak.objects.filter(session=session, outcome=BreakOutcome.TAKEN))
    rests = [
        (b.started_at, b.ended_at)
        for b in breaks
        if b.started_at is not None and b.ended_at is not None
    ]
    return exposures(session.level_changes(), end, rests)


def _dose(
    sessions: list[ListeningSession], breaks: list[EarBreak], since: datetime, now: datetime
) -> float:
    """The dose of these sessions between `since` and `now`."""
    taken = [b for b in breaks if b.outcome == BreakOutcome.TAKEN]
    return sum(
        dose_between(
            _exposures(session, now, [b for b in taken if b.session_id == session.pk]), since, now
        )
        for session in sessions
    )


def dose_today(*, engineer: User, now: datetime | None = None) -> float:
    """Today's sound dose (the engineer's local day), percent of the daily allowance."""
    return day_so_far(engineer=engineer, now=now).dose


def _ears_sessions(session: ListeningSession, ears: _Ears) -> list[ListeningSession]:
    """This session, today's and the ones just before it, once each."""
    seen: dict[int, ListeningSession] = {session.pk: session}
    for s in [*ears.today, *ears.previous]:
        seen.setdefault(s.pk, s)
    return list(seen.values())


def _dose_due(
    session: ListeningSession, since: datetime, now: datetime, ears: _Ears
) -> tuple[datetime, str] | None:
    """When listening on at the session's level reaches the dose of one sitting or of the day,
    and which; None when no level is known."""
    level = session.level_db
    if level is None or session.ended_at is not None:
        return None
    start = max(now, since)  # resting now: the dose grows again once the break is over
    sessions = _ears_sessions(session, ears)
    sitting = _dose(sessions, ears.breaks, since, now) if since < now else 0.0
    day = _dose(sessions, ears.breaks, ears.rules.day_start, now)
    left_sitting = minutes_left(level, sitting, ears.rules.session_dose_limit)
    left_day = minutes_left(level, day, ears.rules.daily_dose_limit)
    if left_day <= left_sitting:
        return start + timedelta(minutes=left_day), BreakCause.DAY_DOSE
    return start + timedelta(minutes=left_sitting), BreakCause.SESSION_DOSE


def _pending(session: ListeningSession, ears: _Ears) -> EarBreak | None:
    prompts = ears.of(session.pk, BreakOutcome.PROMPTED)
    return max(prompts, key=lambda b: b.prompted_at) if prompts else None


def _due(session: ListeningSession, now: datetime, ears: _Ears, since: datetime) -> BreakDue:
    policy = ears.rules.policy
    pending = _pending(session, ears)
    if pending is not None:
        return BreakDue(pending.kind, pending.prompted_at, pending.planned_minutes, pending.cause)
    taken_today = sum(
        1
        for b in ears.breaks
        if b.outcome == BreakOutcome.TAKEN and b.prompted_at >= ears.rules.day_start
    )
    n = taken_today + 1
    kind, minutes = (
        (BreakKind.LONG, policy.long_break)
        if n % policy.long_every == 0
        else (BreakKind.SHORT, policy.short_break)
    )
    if (
        session.stage.kind in FRESH_EARS_STAGES
        and since <= session.started_at
        and not any(b.session_id == session.pk for b in ears.breaks)
    ):
        # Glue and delivery need fresh ears: no carrying on from another stage's listening.
        last = _last_listening_before(session, ears)
        if last is not None and session.started_at - last < timedelta(
            minutes=policy.fresh_ears_break
        ):
            return BreakDue(
                BreakKind.LONG if kind == BreakKind.LONG else BreakKind.FRESH_EARS,
                session.started_at,
                max(minutes, policy.fresh_ears_break),
            )
    due = since + timedelta(minutes=policy.max_block)
    cause: str = BreakCause.MINUTES
    by_dose = _dose_due(session, since, now, ears)
    if by_dose is not None and by_dose[0] < due:
        due, cause = by_dose
    skips = [b for b in ears.of(session.pk, BreakOutcome.SKIPPED) if b.prompted_at >= since]
    if skips:
        # Past the limit already: ask again after a short while rather than a whole block.
        last_skip = max(b.prompted_at for b in skips)
        due = max(due, last_skip + timedelta(minutes=policy.short_break))
    return BreakDue(kind, due, minutes, cause)


def break_due(*, session: ListeningSession, now: datetime | None = None) -> BreakDue:
    """When the next break is due for this session, by the engineer's policy: after the longest
    listening without a break, or sooner if the sound dose at the level monitored at reaches the
    studio's limit for one sitting or for the day."""
    now = now or timezone.now()
    ears = _ears_for(session, now)
    return _due(session, now, ears, _listening_since(session, ears))


def _listened(
    sessions: list[ListeningSession], breaks: list[EarBreak], day_start: datetime, now: datetime
) -> timedelta:
    total = timedelta(0)
    for session in sessions:
        start = max(session.started_at, day_start)
        end = min(session.ended_at or now, now)
        if end <= start:
            continue
        total += end - start
        for b in breaks:
            if b.session_id != session.pk or b.outcome != BreakOutcome.TAKEN:
                continue
            if b.started_at is None or b.ended_at is None:
                continue
            overlap = min(b.ended_at, end) - max(b.started_at, start)
            if overlap > timedelta(0):
                total -= overlap
    return total


@dataclass(frozen=True)
class DaySoFar:
    listened: timedelta  # breaks taken excluded
    dose: float  # percent of the daily allowance


def day_so_far(
    *, engineer: User, now: datetime | None = None, day_start: datetime | None = None
) -> DaySoFar:
    """The engineer's listening and sound dose today (their local day; `day_start`, when the
    caller knows their local midnight, saves reading it), from one read of today's sessions and
    their breaks."""
    now = now or timezone.now()
    day_start = day_start or _day_start(engineer, now)
    sessions = _sessions_today(engineer.pk, day_start)
    breaks = list(
        EarBreak.objects.filter(session__in=[s.pk for s in sessions], outcome=BreakOutcome.TAKEN)
    )
    return DaySoFar(
        _listened(sessions, breaks, day_start, now), _dose(sessions, breaks, day_start, now)
    )


def listening_today(*, engineer: User, now: datetime | None = None) -> timedelta:
    """How long the engineer has listened today (their local day), breaks taken excluded; the
    page compares it with the daily cap."""
    return day_so_far(engineer=engineer, now=now).listened


def listening_cap_reached(*, engineer: User, now: datetime | None = None) -> bool:
    return listening_today(engineer=engineer, now=now) >= timedelta(
        minutes=_ear_break_policy_for(engineer).daily_cap
    )


def break_prompt(*, session: ListeningSession, now: datetime | None = None) -> EarBreak | None:
    """Record the prompt if a break is due now (once: an unanswered prompt is returned again)."""
    now = now or timezone.now()
    with transaction.atomic():
        locked = _lock_session(session)
        if locked.ended_at is not None:
            return None
        pending = EarBreak.objects.filter(session=locked, outcome=BreakOutcome.PROMPTED).first()
        if pending is not None:
            return pending
        due = break_due(session=locked, now=now)
        if not due.is_due(now):
            return None
        return EarBreak.objects.create(
            engineer_id=locked.engineer_id,
            session=locked,
            kind=due.kind,
            prompted_at=now,
            planned_minutes=due.minutes,
            cause=due.cause,
        )


def _answer(ear_break: EarBreak, by: User, outcome: str, reason: str = "") -> EarBreak:
    with transaction.atomic():
        locked = EarBreak.objects.select_for_update().get(pk=ear_break.pk)
        if locked.engineer_id != by.pk:
            raise NotAllowed("Only the engineer who was prompted can answer the break.")
        if locked.outcome != BreakOutcome.PROMPTED:
            raise WrongState("This break was already answered.")
        now = timezone.now()
        locked.outcome = outcome
        locked.skip_reason = reason.strip()
        if outcome == BreakOutcome.TAKEN:
            locked.started_at = now
            locked.ended_at = now + timedelta(minutes=locked.planned_minutes)
        locked.save()
    return locked


def break_take(*, ear_break: EarBreak, by: User) -> EarBreak:
    """The engineer takes the prompted break, starting now, for its planned length."""
    return _answer(ear_break, by, BreakOutcome.TAKEN)


def break_skip(*, ear_break: EarBreak, by: User, reason: str = "") -> EarBreak:
    """The engineer skips the prompted break (the reason is kept for the manager); it counts
    against their compliance."""
    return _answer(ear_break, by, BreakOutcome.SKIPPED, reason)


def session_stop(
    *, session: ListeningSession, by: User | None, cap_at: datetime | None = None
) -> ListeningSession:
    """Stop listening: the time listened, minus breaks taken, is logged on the session and added
    to the stage's work time (which is what the planner subtracts from the estimate). `cap_at`
    ends a forgotten session at that moment instead of now (`by` is then None: the beat task)."""
    with transaction.atomic():
        locked = _lock_session(session)
        if by is not None and locked.engineer_id != by.pk and not by.is_manager:
            raise NotAllowed("Only the engineer listening (or a manager) can stop this session.")
        if locked.ended_at is not None:
            raise WrongState("This session has already stopped.")
        now = timezone.now() if cap_at is None else max(locked.started_at, cap_at)
        locked.capped = cap_at is not None
        resting = timedelta(0)
        for b in EarBreak.objects.filter(session=locked, outcome=BreakOutcome.TAKEN):
            if b.started_at is None or b.ended_at is None:
                continue
            start, end = max(b.started_at, locked.started_at), min(b.ended_at, now)
            if end > start:
                resting += end - start
        # A prompt left unanswered when the session stops counts as skipped.
        EarBreak.objects.filter(session=locked, outcome=BreakOutcome.PROMPTED).update(
            outcome=BreakOutcome.SKIPPED
        )
        seconds = max(0, int((now - locked.started_at - resting).total_seconds()))
        locked.ended_at = now
        locked.work_seconds = seconds
        locked.dose_percent = dose_between(_exposures(locked, now))
        locked.save()
        stage = Stage.objects.select_for_update().get(pk=locked.stage_id)
        stage.work_seconds += seconds
        stage.save(update_fields=["work_seconds"])
    return locked


def sessions_close_forgotten(*, now: datetime | None = None) -> int:
    """Close every session left open past the policy's continuous limit plus a long break (a
    closed laptop, a lost tab): its time is capped at that limit, so nothing is counted twice or
    made up, and the engineer sees on the desk that it was capped. Returns how many."""
    now = now or timezone.now()
    closed = 0
    for session in ListeningSession.objects.filter(ended_at__isnull=True).select_related(
        "engineer"
    ):
        policy = _ear_break_policy_for(session.engineer)
        resting = timedelta(0)
        for b in EarBreak.objects.filter(session=session, outcome=BreakOutcome.TAKEN):
            if b.started_at and b.ended_at:
                resting += b.ended_at - b.started_at  # time resting does not count
        # At most one continuous block is credited; the grace of a long break lets a late
        # engineer stop it themself first.
        cap_at = session.started_at + resting + timedelta(minutes=policy.max_block)
        if now < cap_at + timedelta(minutes=policy.long_break):
            continue
        try:
            session_stop(session=session, by=None, cap_at=cap_at)
        except WrongState:
            continue  # stopped by the engineer meanwhile
        closed += 1
    return closed


@dataclass(frozen=True)
class SessionState:
    """What the session timer shows, all from the server's clock: the page counts on from
    `now`, so a reload, a second tab or a sleeping laptop shows the same times."""

    session: ListeningSession
    now: datetime
    listening_since: datetime
    due: BreakDue
    prompt: EarBreak | None  # a break asked for and not yet answered
    resting: EarBreak | None  # a break being taken now
    today: timedelta
    daily_cap: timedelta
    day_start: datetime  # the engineer's local midnight
    dose_today: float  # percent of the daily allowance
    daily_dose_limit: int
    session_dose_limit: int

    @property
    def level_db(self) -> float | None:
        return self.session.level_db

    @property
    def dose_per_second(self) -> float:
        """How fast the dose grows while listening on at this level (for the page's count)."""
        level = self.level_db
        if level is None or self.resting is not None:
            return 0.0
        return dose_between([Exposure(self.now, self.now + timedelta(seconds=1), level)])

    @property
    def continuous(self) -> timedelta:
        if self.resting is not None:
            return timedelta(0)
        return max(timedelta(0), self.now - self.listening_since)

    @property
    def break_is_due(self) -> bool:
        return self.resting is None and (self.prompt is not None or self.due.is_due(self.now))


def session_state(
    *, session: ListeningSession, now: datetime | None = None, rules: EarRules | None = None
) -> SessionState:
    """The timer of one session, computed once from one read of the engineer's rules (unless
    the caller has them), sessions and breaks: a fixed handful of queries, whatever the
    history."""
    now = now or timezone.now()
    ears = _ears_for(session, now, rules)
    since = _listening_since(session, ears)
    resting = [
        b
        for b in ears.of(session.pk, BreakOutcome.TAKEN)
        if b.ended_at is not None and b.ended_at > now
    ]
    today_breaks = [b for b in ears.breaks if b.outcome == BreakOutcome.TAKEN]
    return SessionState(
        session=session,
        now=now,
        listening_since=since,
        due=_due(session, now, ears, since),
        prompt=_pending(session, ears),
        resting=max(resting, key=lambda b: b.ended_at or now) if resting else None,
        today=_listened(ears.today, today_breaks, ears.rules.day_start, now),
        daily_cap=timedelta(minutes=ears.rules.policy.daily_cap),
        day_start=ears.rules.day_start,
        dose_today=_dose(_ears_sessions(session, ears), ears.breaks, ears.rules.day_start, now),
        daily_dose_limit=ears.rules.daily_dose_limit,
        session_dose_limit=ears.rules.session_dose_limit,
    )


def last_capped_session(
    *, engineer: User, now: datetime | None = None, day_start: datetime | None = None
) -> ListeningSession | None:
    """Today's session the beat task had to close, to tell the engineer its time was capped
    (`day_start`, when the caller knows the engineer's local midnight, saves reading it)."""
    now = now or timezone.now()
    found = sessions_from(
        rows_compiled_once(
            "last_capped_session",
            lambda uid, since: (
                ListeningSession.objects.filter(engineer_id=uid, capped=True, ended_at__gte=since)
                .order_by("-ended_at")
                .values(*SESSION_VALUES)[:1]
            ),
            engineer.pk,
            day_start or _day_start(engineer, now),
        )
    )
    return found[0] if found else None


def break_compliance(
    *, since: datetime | None = None, engineer: User | None = None
) -> dict[int, Compliance]:
    """Per engineer: breaks prompted, taken and skipped (since a moment, if given)."""
    rows = EarBreak.objects.all()
    if since is not None:
        rows = rows.filter(prompted_at__gte=since)
    if engineer is not None:
        rows = rows.filter(engineer=engineer)
    counts = rows.values("engineer_id").annotate(
        prompted=Count("id"),
        taken=Count("id", filter=Q(outcome=BreakOutcome.TAKEN)),
        skipped=Count("id", filter=Q(outcome=BreakOutcome.SKIPPED)),
    )
    return {
        c["engineer_id"]: Compliance(c["prompted"], c["taken"], c["skipped"])
        for c in counts.order_by()
    }
