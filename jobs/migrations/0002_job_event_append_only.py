"""The database itself refuses UPDATE and DELETE on the job history."""

from django.db import migrations

POSTGRES_UP = """
CREATE OR REPLACE FUNCTION jobs_jobevent_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'the job history is append-only';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER jobs_jobevent_no_update BEFORE UPDATE OR DELETE ON jobs_jobevent
    FOR EACH ROW EXECUTE FUNCTION jobs_jobevent_append_only();
"""
POSTGRES_DOWN = """
DROP TRIGGER IF EXISTS jobs_jobevent_no_update ON jobs_jobevent;
DROP FUNCTION IF EXISTS jobs_jobevent_append_only();
"""
# SQLite (the embedded default) refuses UPDATE only: it has no TRUNCATE, so Django's flush (used
# between transactional tests) empties tables with DELETE, which a DELETE trigger would block.
# Deleting rows is still refused by the model and its queryset there.
SQLITE_UP = [
    """CREATE TRIGGER jobs_jobevent_no_update BEFORE UPDATE ON jobs_jobevent
       BEGIN SELECT RAISE(ABORT, 'the job history is append-only'); END;""",
]
SQLITE_DOWN = ["DROP TRIGGER IF EXISTS jobs_jobevent_no_update;"]


def forwards(apps, schema_editor):  # type: ignore[no-untyped-def]
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(POSTGRES_UP)
    elif vendor == "sqlite":
        for statement in SQLITE_UP:
            schema_editor.execute(statement)


def backwards(apps, schema_editor):  # type: ignore[no-untyped-def]
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(POSTGRES_DOWN)
    elif vendor == "sqlite":
        for statement in SQLITE_DOWN:
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("jobs", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards)]
