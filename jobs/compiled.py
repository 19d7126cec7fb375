"""Queries whose shape never changes, run from SQL compiled once per process
(`rows_compiled_once`), and model instances made from their rows as the ORM makes them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID

from django.core.exceptions import EmptyResultSet
from django.db import DEFAULT_DB_ALIAS, connection
from django.db.models import DEFERRED, Model, QuerySet
from django.db.models.base import ModelState
from django.db.models.signals import post_init, pre_init

# Two sets of marker values: a query is compiled with each, and a parameter that is the i-th
# marker in both is where the i-th of a call's values goes (an id, a job's or file's id, a
# moment, a day); a constant of the query is the same in both. The ids fit every integer column
# (Django finds nothing to ask for when a value is out of a column's range). A query takes at
# most MAX_VALUES of them (a page of the board's fifty jobs' ids, say).
MAX_VALUES = 64
_SLOT_IDS = tuple(tuple(32_101 + 100 * k + i for i in range(MAX_VALUES)) for k in range(2))
_SLOT_UUIDS = tuple(
    tuple(UUID(int=(0x5107 + k) << 112 | i) for i in range(MAX_VALUES)) for k in range(2)
)
_SLOT_MOMENTS = tuple(
    tuple(datetime(1900 + k, 1, 1, 0, 0, 0, 1 + i, tzinfo=UTC) for i in range(MAX_VALUES))
    for k in range(2)
)
_SLOT_DAYS = tuple(
    tuple(date(1900 + k, 2, 1) + timedelta(days=i) for i in range(MAX_VALUES)) for k in range(2)
)


@dataclass(frozen=True)
class _Compiled:
    sql: str
    params: tuple[Any, ...]
    names: tuple[str, ...]
    slots: dict[int, int]  # param position: which of the call's values goes there


_COMPILED: dict[tuple[str, str], _Compiled] = {}


def _slots(values: tuple[Any, ...], k: int) -> list[Any]:
    slots: list[Any] = []
    for i, v in enumerate(values):
        if isinstance(v, datetime):
            slots.append(_SLOT_MOMENTS[k][i])
        elif isinstance(v, date):  # after datetime, which is a date too
            slots.append(_SLOT_DAYS[k][i])
        elif isinstance(v, UUID):
            slots.append(_SLOT_UUIDS[k][i])
        else:
            slots.append(_SLOT_IDS[k][i])
    return slots


def rows_compiled_once(
    key: str, build: Callable[..., QuerySet[Any]], *values: Any
) -> list[dict[str, Any]]:
    """The rows of a `values()` query whose shape never changes, from SQL compiled once per
    process: `build(*values)` makes the queryset, and only those values (ids, moments, days)
    differ between calls. Building and compiling a query with joins and a subquery costs Python more
    than PostgreSQL takes to run it, and a page runs the same few queries on every request. The
    SQL depends on the code and the database's kind alone (kept per kind), so nothing has to
    invalidate it; `key` names the shape (and must change with anything else `build` depends
    on, such as a limit)."""
    if connection.vendor != "postgresql" or len(values) > MAX_VALUES:
        # The rows are read raw, as psycopg gives them (moments with their zone); other
        # databases need the ORM's converters (SQLite gives moments as text): built afresh,
        # as is a query with more values than there are markers.
        return [_Converted(row) for row in build(*values)]
    entry = _COMPILED.get((connection.vendor, key))
    if entry is None:
        slots = [_slots(values, 0), _slots(values, 1)]
        qs = build(*slots[0])
        try:
            sql, params = qs.query.sql_with_params()
            other = build(*slots[1]) if values else qs  # no values: nothing to find
            other_sql, other_params = other.query.sql_with_params()
        except EmptyResultSet:  # a `none()` inside: the ORM says so for these values
            return [_Converted(row) for row in build(*values)]
        names = (*qs.query.extra_select, *qs.query.values_select, *qs.query.annotation_select)
        same_shape = sql == other_sql and len(params) == len(other_params)
        where = {
            n: i
            for n, (p, q) in enumerate(zip(params, other_params, strict=False))
            for i, (a, b) in enumerate(zip(slots[0], slots[1], strict=True))
            # psycopg's Int2 and the like are ints: a small integer column's values come so
            if isinstance(p, type(a)) and p == a and isinstance(q, type(b)) and q == b
        }
        if not same_shape or set(where.values()) != set(range(len(values))):
            # A value the compiled SQL holds in another form: built afresh on every call.
            return [_Converted(row) for row in build(*values)]
        entry = _COMPILED[(connection.vendor, key)] = _Compiled(sql, tuple(params), names, where)
    params = tuple(
        _as(p, values[entry.slots[n]]) if n in entry.slots else p
        for n, p in enumerate(entry.params)
    )
    with connection.cursor() as cursor:
        cursor.execute(entry.sql, params)
        return [dict(zip(entry.names, row, strict=True)) for row in cursor.fetchall()]


def _as(marker: Any, value: Any) -> Any:
    """A call's value in the form its marker took in the compiled parameters (Int2 for a small
    integer column, as the ORM would have sent it)."""
    if isinstance(marker, int) and type(marker) is not int and isinstance(value, int):
        return type(marker)(value)
    return value


class _Converted(dict[str, Any]):
    """A row the ORM read and converted already (`values()`), not raw from the cursor."""


def columns(model: type[Model], prefix: str = "", without: tuple[str, ...] = ()) -> tuple[str, ...]:
    """The `values()` names of a model's columns (`prefix` + attname), for `instance_from`."""
    return tuple(prefix + f.attname for f in model._meta.concrete_fields if f.name not in without)


# Per model, prefix and a row's columns: for each concrete field, the column it is loaded from
# (None: deferred) and whether it has a converter; and the loaded ones as (attname, column,
# converter). The rows of one query share their columns, so a list of rows works this out once,
# not once per row and field.
_Plan = tuple[tuple[str, ...], list[Any], tuple[tuple[str, str, Any], ...]]
_PLANS: dict[tuple[type[Model], str, tuple[str, ...]], _Plan] = {}


def _plan(model: type[Model], prefix: str, present: tuple[str, ...]) -> _Plan:
    key = (model, prefix, present)
    plan = _PLANS.get(key)
    if plan is None:
        names: list[str] = []
        fields: list[tuple[str | None, Any]] = []
        loaded: list[tuple[str, str, Any]] = []
        for f in model._meta.concrete_fields:
            column = prefix + f.attname
            if column in present:
                converter = f if hasattr(f, "from_db_value") else None
                names.append(f.attname)
                fields.append((column, converter))
                loaded.append((f.attname, column, converter))
            else:
                fields.append((None, None))
        plan = _PLANS[key] = (tuple(names), fields, tuple(loaded))
    return plan


def instance_from(model: type[Model], row: dict[str, Any], prefix: str = "") -> Any:
    """A model instance from a `values()` row, as the ORM makes one (`from_db`, each field's
    `from_db_value`): the fields named `prefix` + attname in the row are loaded, the others
    deferred.

    Where nothing listens for a model's instances being made (no pre_init or post_init
    receiver; the model keeps Model's own __init__), the instance is made as Model.__init__
    would leave it without running it: its loaded columns straight into its __dict__ (every
    field descriptor's __set__ does that on a new instance) and its state as from_db sets it.
    Model.__init__ walks every field with its signals around it, and pages make some dozens
    of instances each."""
    names, fields, loaded = _plan(model, prefix, tuple(row))
    raw = not isinstance(row, _Converted)
    if pre_init.receivers or post_init.receivers or model.__init__ is not Model.__init__:
        values = [
            DEFERRED
            if column is None
            else field.from_db_value(row[column], None, connection)
            if field is not None and raw
            else row[column]
            for column, field in fields
        ]
        return model.from_db(DEFAULT_DB_ALIAS, names, values)
    instance: Any = object.__new__(model)
    state = ModelState()
    state.adding, state.db = False, DEFAULT_DB_ALIAS  # `connection` is the default database's
    attributes = instance.__dict__
    attributes["_state"] = state
    if raw:
        for attname, column, field in loaded:
            value = row[column]
            attributes[attname] = (
                value if field is None else field.from_db_value(value, None, connection)
            )
    else:
        for attname, column, _ in loaded:
            attributes[attname] = row[column]
    return instance


def related_from(model: type[Model], row: dict[str, Any], prefix: str) -> Any:
    """The related instance whose columns `prefix` holds, as `instance_from` makes it, or None
    where a nullable relation's join found nobody (its id is None), as select_related leaves
    it."""
    return instance_from(model, row, prefix) if row[f"{prefix}id"] is not None else None


def value_from(row: dict[str, Any], name: str, field: Any) -> Any:
    """The row's `name` as the ORM gives a column of `field`'s type (`from_db_value`)."""
    value = row[name]
    if hasattr(field, "from_db_value") and not isinstance(row, _Converted):
        value = field.from_db_value(value, None, connection)
    return value
