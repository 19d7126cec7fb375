"""Choice labels read from a table made once per field."""

from __future__ import annotations

from typing import Any

from django.utils.encoding import force_str
from django.utils.hashable import make_hashable


class ChoiceLabels:
    """`get_FOO_display()` as Django's, from a dict of the field's choices made on first use
    (Django makes it afresh on every call: a few microseconds, and a job page asks a few
    hundred times). Put before `models.Model` in a model's bases; choices are fixed in code,
    and a label is still translated when it is read."""

    def _get_FIELD_display(self, field: Any) -> Any:
        labels = field.__dict__.get("_choice_labels")
        if labels is None:
            labels = field.__dict__["_choice_labels"] = dict(make_hashable(field.flatchoices))
        value = getattr(self, field.attname)
        return force_str(labels.get(make_hashable(value), value), strings_only=True)
