"""Every model's get_FOO_display() says what Django's own would, for every choice and for a
value that is not one, from its table made once."""

from __future__ import annotations

from django.apps import apps
from django.db import models

from jobs.models.labels import ChoiceLabels


def test_every_label_is_django_s() -> None:
    checked = 0
    for model in apps.get_models():
        fields = [f for f in model._meta.concrete_fields if f.choices]
        if not fields or model._meta.app_label not in ("jobs", "analysis", "review"):
            continue
        assert issubclass(model, ChoiceLabels), f"{model.__name__} makes its labels each time"
        for field in fields:
            for value in [v for v, _ in field.flatchoices] + ["not-a-choice", None]:
                row = model()
                setattr(row, field.attname, value)
                shown = getattr(row, f"get_{field.name}_display")()
                assert shown == models.Model._get_FIELD_display(row, field), (field, value)
                checked += 1
    assert checked > 50
