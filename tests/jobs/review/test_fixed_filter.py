"""The review filter `fixed` writes what `floatformat:N|default:"\u2013"` writes, for any number."""

from __future__ import annotations

import random

import pytest
from django.template.defaultfilters import default, floatformat

from jobs.review.templatetags.review import fixed

EDGES: list[object] = [None, "", 0, 0.0, -0.0, -0.04, 0.05, -0.05, 0.25, 0.35, 1.45, -1.45]
EDGES += [2.675, 1e-9, -1e-9, 123456.789, 48000, -14.25, float("inf"), float("nan"), 1e20]
EDGES += [-99.95, 9.95, "abc", "3.14"]


@pytest.mark.parametrize("places", [1, 2, 3])
def test_fixed_is_floatformat_with_a_dash_for_nothing(places: int) -> None:
    rnd = random.Random(places)
    values = EDGES + [rnd.uniform(-100, 10) for _ in range(3000)]
    values += [round(rnd.uniform(-100, 10), rnd.randint(1, 4)) for _ in range(3000)]
    for value in values:
        assert fixed(value, places) == str(default(floatformat(value, places), "\u2013")), value


FORMATS: list[object] = [
    None,
    "",
    {},
    {"container": "MP3"},
    {"container": "WAV", "sample_rate": 48000, "bit_depth": 24, "channels": 2},
    {"container": "WAV", "sample_rate": 44100.0, "is_float": True, "channels": 1},
    {"container": "FLAC", "sample_rate": 96000, "subtype": "PCM_<S>", "channels": 6},
    {"container": "<b>", "sample_rate": 22050.5, "bit_depth": None, "channels": None},
]


@pytest.mark.parametrize("fmt", FORMATS)
def test_format_words_writes_what_the_format_template_writes(fmt: object) -> None:
    from django.template.loader import render_to_string

    from jobs.review.templatetags.review import format_words

    assert format_words(fmt) == render_to_string("jobs/portal/format.html", {"fmt": fmt})
