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
from zoneinfo import ZoneInfo

from django.db import IntegrityError, transaction
from django.db.models import Count, Q
from django.utils import timezone

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


def _ear_break_policy_for(engineer: User) -> EarBreakPolicy:
    profile = EngineerProfile.objects.filter(user=engineer).first()
    return ear_break_policy(StudioPolicy.current(), profile)


def _lock_session(session: ListeningSession) -> ListeningSession:
    return ListeningSession.objects.select_for_update().select_related("stage").get(pk=session.pk)


def _day_start(engineer: User, now: datetime) -> datetime:
    profile = EngineerProfile.objects.filter(user=engineer).first()
    zone = ZoneInfo(profile.timezone if profile else StudioPolicy.current().timezone)
    local = now.astimezone(zone)
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


def _level(level_db: float | None, engineer: User) -> float | None:
    """The level asked for (refused outside the plausible range), or the engineer's usual one."""
    if level_db is None:
        profile = EngineerProfile.objects.filter(user=engineer).first()
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


def _listening_since(session: ListeningSession, policy: EarBreakPolicy) -> datetime:
    """When the ears last rested: the session start, or earlier if the engineer hopped from
    another session without a break in between, or the end of the last break taken."""
    since = session.started_at
    gap = timedelta(minutes=policy.short_break)
    for previous in ListeningSession.objects.filter(
        engineer_id=session.engineer_id, ended_at__isnull=False, started_at__lt=session.started_at
    ).order_by("-started_at")[:20]:
        assert previous.ended_at is not None
        if since - previous.ended_at >= gap:
            break
        since = previous.started_at
    last_taken = (
        EarBreak.objects.filter(
            engineer_id=session.engineer_id, outcome=BreakOutcome.TAKEN, ended_at__gt=since
        )
        .order_by("-ended_at")
        .first()
    )
    if last_taken is not None and last_taken.ended_at is not None:
        since = last_taken.ended_at
    return since


def _last_listening_before(session: ListeningSession) -> datetime | None:
    """The last moment the engineer was actually listening before this session began (a break
    taken at the end of the previous session is rest, not listening)."""
    previous = (
        ListeningSession.objects.filter(
            engineer_id=session.engineer_id,
            ended_at__isnull=False,
            ended_at__lte=session.started_at,
        )
        .exclude(pk=session.pk)
        .order_by("-ended_at")
        .first()
    )
    if previous is None or previous.ended_at is None:
        return None
    last = previous.ended_at
    for b in EarBreak.objects.filter(
        session=previous, outcome=BreakOutcome.TAKEN, started_at__lt=last, ended_at__gte=last
    ):
        if b.started_at is not None:
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


def _exposures(session: ListeningSession, now: datetime) -> list[Exposure]:
    """The session's listening at each level, breaks taken cut out."""
    if not session.levels:
        return []
    end = min(session.ended_at or now, now)
    rests = [
        (b.started_at, b.ended_at)
        for b in EarBreak.objects.filter(session=session, outcome=BreakOutcome.TAKEN)
        if b.started_at is not None and b.ended_at is not None
    ]
    return exposures(session.level_changes(), end, rests)


def _dose_since(engineer_id: int, since: datetime, now: datetime) -> float:
    """The dose of every session of the engineer's between `since` and `now`."""
    total = 0.0
    for session in ListeningSession.objects.filter(
        engineer_id=engineer_id, started_at__lt=now
    ).filter(Q(ended_at__isnull=True) | Q(ended_at__gt=since)):
        total += dose_between(_exposures(session, now), since, now)
    return total


def dose_today(*, engineer: User, now: datetime | None = None) -> float:
    """Today's sound dose (the engineer's local day), percent of the daily allowance."""
    now = now or timezone.now()
    return _dose_since(engineer.pk, _day_start(engineer, now), now)


def _dose_due(
    session: ListeningSession, since: datetime, now: datetime
) -> tuple[datetime, str] | None:
    """When listening on at the session's level reaches the dose of one sitting or of the day,
    and which; None when no level is known."""
    level = session.level_db
    if level is None or session.ended_at is not None:
        return None
    studio = StudioPolicy.current()
    start = max(now, since)  # resting now: the dose grows again once the break is over
    sitting = _dose_since(session.engineer_id, since, now) if since < now else 0.0
    day = dose_today(engineer=session.engineer, now=now)
    left_sitting = minutes_left(level, sitting, studio.session_dose_limit_pct)
    left_day = minutes_left(level, day, studio.daily_dose_limit_pct)
    if left_day <= left_sitting:
        return start + timedelta(minutes=left_day), BreakCause.DAY_DOSE
    return start + timedelta(minutes=left_sitting), BreakCause.SESSION_DOSE


def break_due(*, session: ListeningSession, now: datetime | None = None) -> BreakDue:
    """When the next break is due for this session, by the engineer's policy: after the longest
    listening without a break, or sooner if the sound dose at the level monitored at reaches the
    studio's limit for one sitting or for the day."""
    now = now or timezone.now()
    engineer = session.engineer
    policy = _ear_break_policy_for(engineer)
    pending = (
        EarBreak.objects.filter(session=session, outcome=BreakOutcome.PROMPTED)
        .order_by("-prompted_at")
        .first()
    )
    if pending is not None:
        return BreakDue(pending.kind, pending.prompted_at, pending.planned_minutes, pending.cause)
    since = _listening_since(session, policy)
    taken_today = EarBreak.objects.filter(
        engineer=engineer, outcome=BreakOutcome.TAKEN, prompted_at__gte=_day_start(engineer, now)
    ).count()
    n = taken_today + 1
    kind, minutes = (
        (BreakKind.LONG, policy.long_break)
        if n % policy.long_every == 0
        else (BreakKind.SHORT, policy.short_break)
    )
    if (
        session.stage.kind in FRESH_EARS_STAGES
        and since <= session.started_at
        and not EarBreak.objects.filter(session=session).exists()
    ):
        # Glue and delivery need fresh ears: no carrying on from another stage's listening.
        last = _last_listening_before(session)
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
    by_dose = _dose_due(session, since, now)
    if by_dose is not None and by_dose[0] < due:
        due, cause = by_dose
    last_skip = (
        EarBreak.objects.filter(
            session=session, outcome=BreakOutcome.SKIPPED, prompted_at__gte=since
        )
        .order_by("-prompted_at")
        .first()
    )
    if last_skip is not None:
        # Past the limit already: ask again after a short while rather than a whole block.
        due = max(due, last_skip.prompted_at + timedelta(minutes=policy.short_break))
    return BreakDue(kind, due, minutes, cause)


def listening_today(*, engineer: User, now: datetime | None = None) -> timedelta:
    """How long the engineer has listened today (their local day), breaks taken excluded; the
    page compares it with the daily cap."""
    now = now or timezone.now()
    day_start = _day_start(engineer, now)
    total = timedelta(0)
    sessions = ListeningSession.objects.filter(engineer=engineer).filter(
        Q(ended_at__isnull=True) | Q(ended_at__gt=day_start)
    )
    for session in sessions:
        start = max(session.started_at, day_start)
        end = min(session.ended_at or now, now)
        if end <= start:
            continue
        total += end - start
        for b in EarBreak.objects.filter(session=session, outcome=BreakOutcome.TAKEN):
            if b.started_at is None or b.ended_at is None:
                continue
            overlap = min(b.ended_at, end) - max(b.started_at, start)
            if overlap > timedelta(0):
                total -= overlap
    return total


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


def session_state(*, session: ListeningSession, now: datetime | None = None) -> SessionState:
    now = now or timezone.now()
    policy = _ear_break_policy_for(session.engineer)
    studio = StudioPolicy.current()
    resting = (
        EarBreak.objects.filter(session=session, outcome=BreakOutcome.TAKEN, ended_at__gt=now)
        .order_by("-ended_at")
        .first()
    )
    return SessionState(
        session=session,
        now=now,
        listening_since=_listening_since(session, policy),
        due=break_due(session=session, now=now),
        prompt=EarBreak.objects.filter(session=session, outcome=BreakOutcome.PROMPTED).first(),
        resting=resting,
        today=listening_today(engineer=session.engineer, now=now),
        daily_cap=timedelta(minutes=policy.daily_cap),
        dose_today=dose_today(engineer=session.engineer, now=now),
        daily_dose_limit=studio.daily_dose_limit_pct,
        session_dose_limit=studio.session_dose_limit_pct,
    )


def last_capped_session(*, engineer: User, now: datetime | None = None) -> ListeningSession | None:
    """Today's session the beat task had to close, to tell the engineer its time was capped."""
    now = now or timezone.now()
    return (
        ListeningSession.objects.filter(
            engineer=engineer, capped=True, ended_at__gte=_day_start(engineer, now)
        )
        .select_related("stage", "stage__job")
        .order_by("-ended_at")
        .first()
    )


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
