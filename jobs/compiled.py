"""Queries whose shape never changes, run from SQL compiled once per process
(`rows_compiled_once`), and model instances made from their rows as the ORM makes them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from django.db import connection
from django.db.models import Model, QuerySet

# Values no row has: they mark, in a query compiled once, where each call's values go (an id, a
# moment, a file's or job's UUID).
_SLOT_IDS = tuple(-7_000_000_001 - i for i in range(4))
_SLOT_MOMENTS = tuple(datetime(1900, 1, 1, 0, 0, 0, 1 + i, tzinfo=UTC) for i in range(4))
_SLOT_UUIDS = tuple(UUID(int=0x5107_0000_0000_0000_0000_0000_0000_0001 + i) for i in range(4))


@dataclass(frozen=True)
class _Compiled:
    sql: str
    params: tuple[Any, ...]
    names: tuple[str, ...]
    slots: dict[int, int]  # param position: which of the call's values goes there


_COMPILED: dict[tuple[str, str], _Compiled] = {}


def _slots(values: tuple[Any, ...]) -> list[Any]:
    slots: list[Any] = []
    for i, v in enumerate(values):
        if isinstance(v, datetime):
            slots.append(_SLOT_MOMENTS[i])
        elif isinstance(v, UUID):
            slots.append(_SLOT_UUIDS[i])
        else:
            slots.append(_SLOT_IDS[i])
    return slots


def rows_compiled_once(
    key: str, build: Callable[..., QuerySet[Any]], *values: Any
) -> list[dict[str, Any]]:
    """The rows of a `values()` query whose shape never changes, from SQL compiled once per
    process: `build(*values)` makes the queryset, and only those values (ids, moments, UUIDs) differ
    between calls. Building and compiling a query with joins and a subquery costs Python more
    than PostgreSQL takes to run it, and a page runs the same few queries on every request. The
    SQL depends on the code and the database's kind alone (kept per kind), so nothing has to
    invalidate it; `key` names the shape (and must change with anything else `build` depends
    on, such as a limit)."""
    if connection.vendor != "postgresql":
        # The rows are read raw, as psycopg gives them (moments with their zone); other
        # databases need the ORM's converters (SQLite gives moments as text): built afresh.
        return [_Converted(row) for row in build(*values)]
    entry = _COMPILED.get((connection.vendor, key))
    if entry is None:
        slots = _slots(values)
        qs = build(*slots)
        sql, params = qs.query.sql_with_params()
        names = (*qs.query.extra_select, *qs.query.values_select, *qs.query.annotation_select)
        where = {
            n: i
            for n, p in enumerate(params)
            for i, slot in enumerate(slots)
            if type(p) is type(slot) and p == slot
        }
        if set(where.values()) != set(range(len(values))):
            # A value the compiled SQL holds in another form: built afresh on every call.
            return [_Converted(row) for row in build(*values)]
        entry = _COMPILED[(connection.vendor, key)] = _Compiled(sql, tuple(params), names, where)
    params = tuple(
        values[entry.slots[n]] if n in entry.slots else p for n, p in enumerate(entry.params)
    )
    with connection.cursor() as cursor:
        cursor.execute(entry.sql, params)
        return [dict(zip(entry.names, row, strict=True)) for row in cursor.fetchall()]


class _Converted(dict[str, Any]):
    """A row the ORM read and converted already (`values()`), not raw from the cursor."""


def instance_from(model: type[Model], row: dict[str, Any], prefix: str = "") -> Any:
    """A model instance from a `values()` row, as the ORM makes one (`from_db`, each field's
    `from_db_value`): the fields named `prefix` + attname in the row are loaded, the others
    deferred."""
    names, loaded = [], []
    for f in model._meta.concrete_fields:
        if prefix + f.attname in row:
            names.append(f.attname)
            loaded.append(value_from(row, prefix + f.attname, f))
    return model.from_db(connection.alias, names, loaded)


def value_from(row: dict[str, Any], name: str, field: Any) -> Any:
    """The row's `name` as the ORM gives a column of `field`'s type (`from_db_value`)."""
    value = row[name]
    if hasattr(field, "from_db_value") and not isinstance(row, _Converted):
        value = field.from_db_value(value, None, connection)
    return value
