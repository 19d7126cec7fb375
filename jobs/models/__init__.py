"""The studio's work: people, clients, jobs, files, stages, history, policy and working time.

The models live by sub-domain (people, policy, work, stages, history, uploads in progress);
every name is importable from `jobs.models`, which is also where the migrations find them.
"""

from jobs.models.history import AppendOnlyQuerySet, EventKind, JobEvent
from jobs.models.people import (
    STUDIO_ROLES,
    EngineerDayOff,
    EngineerProfile,
    Organisation,
    Role,
    User,
)
from jobs.models.people import _calendar_token as _calendar_token
from jobs.models.policy import (
    ClockMode,
    PolicyChange,
    StudioDayOff,
    StudioPolicy,
    default_checklists,
    default_stage_estimates,
    default_working_weekdays,
)
from jobs.models.stages import (
    DEFAULT_CHECKLISTS,
    FRESH_EARS_STAGES,
    STAGE_FINISHED,
    STAGE_OPEN,
    STAGE_ORDER,
    BreakKind,
    BreakOutcome,
    EarBreak,
    ListeningSession,
    RecallNote,
    Stage,
    StageKind,
    StageStatus,
)
from jobs.models.uploads import PartialUpload, UploadProtocol, UploadState
from jobs.models.work import (
    CLOCK_PAUSED,
    CLOCK_RUNNING,
    CLOSED,
    HAS_DEADLINE,
    INTAKE_RUNNING,
    PRE_ACCEPTANCE,
    AudioFile,
    DeadlineStatus,
    FileKind,
    Job,
    JobStatus,
    Verdict,
    audio_upload_to,
)

__all__ = [
    "CLOCK_PAUSED",
    "CLOCK_RUNNING",
    "CLOSED",
    "DEFAULT_CHECKLISTS",
    "FRESH_EARS_STAGES",
    "HAS_DEADLINE",
    "INTAKE_RUNNING",
    "PRE_ACCEPTANCE",
    "STAGE_FINISHED",
    "STAGE_OPEN",
    "STAGE_ORDER",
    "STUDIO_ROLES",
    "AppendOnlyQuerySet",
    "AudioFile",
    "BreakKind",
    "BreakOutcome",
    "ClockMode",
    "DeadlineStatus",
    "EarBreak",
    "EngineerDayOff",
    "EngineerProfile",
    "EventKind",
    "FileKind",
    "Job",
    "JobEvent",
    "JobStatus",
    "ListeningSession",
    "Organisation",
    "PartialUpload",
    "PolicyChange",
    "RecallNote",
    "Role",
    "Stage",
    "StageKind",
    "StageStatus",
    "StudioDayOff",
    "StudioPolicy",
    "UploadProtocol",
    "UploadState",
    "User",
    "Verdict",
    "audio_upload_to",
    "default_checklists",
    "default_stage_estimates",
    "default_working_weekdays",
]
