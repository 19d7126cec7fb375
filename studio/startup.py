"""What Django's set-up loads in this process besides the apps and their models.

Every process makes the Celery app and registers the tasks when Django sets up (the apps'
ready() call `tasks_at_setup()`): a service queues a task by its registered name, and a task
module's `shared_task` binds to the current app, so both must be in place before any code runs.
A command that queues no task, and is started before Django sets up (manage.py's fast path,
`start_before_setup`), may call `without_tasks()` first: Celery and the task modules (a third of a
second) are then never imported in that process.
"""

from __future__ import annotations

_tasks = True


def without_tasks() -> None:
    """This process queues no task: Django's set-up leaves Celery and the tasks out."""
    global _tasks
    _tasks = False


def tasks_at_setup() -> bool:
    return _tasks
