"""Every move in a job's life: who may make it, the state it starts from, and its history.

Each service locks the job (`select_for_update`), checks the actor and the state, applies the change
and writes `JobEvent` rows in one transaction, so a refused move leaves nothing behind. Invalid
moves raise `WorkflowError` (`NotAllowed` for the wrong person, `WrongState` for the wrong moment).
The moves live by sub-domain (intake, stages, hold, delivery) over a small core.
"""

from jobs.models import CLOCK_RUNNING
from jobs.services.core import NotAllowed, WorkflowError, WrongState, studio_calendar
from jobs.services.delivery import job_approve, job_deliver, job_request_revision
from jobs.services.hold import job_cancel, job_hold, job_resume
from jobs.services.intake import (
    job_accept,
    job_acknowledge,
    job_create,
    job_decline,
    job_override_verdict,
    job_record_verdict,
    job_start_analysis,
    job_submit,
)
from jobs.services.stages import (
    checklist_for,
    recall_note_add,
    stage_assign,
    stage_checklist_tick,
    stage_finish,
    stage_reopen,
    stage_skip,
    stage_start,
    stage_take,
    stage_unticked,
)

__all__ = [
    "CLOCK_RUNNING",
    "NotAllowed",
    "WorkflowError",
    "WrongState",
    "checklist_for",
    "job_accept",
    "job_acknowledge",
    "job_approve",
    "job_cancel",
    "job_create",
    "job_decline",
    "job_deliver",
    "job_hold",
    "job_override_verdict",
    "job_record_verdict",
    "job_request_revision",
    "job_resume",
    "job_start_analysis",
    "job_submit",
    "recall_note_add",
    "stage_assign",
    "stage_checklist_tick",
    "stage_finish",
    "stage_reopen",
    "stage_skip",
    "stage_start",
    "stage_take",
    "stage_unticked",
    "studio_calendar",
]
