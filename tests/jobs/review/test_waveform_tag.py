"""The waveform tag writes the SVG the template did, its names escaped and its coordinates in
SVG's own number syntax."""

from __future__ import annotations

from django.template import Context, Template
from django.utils import translation

from jobs.review.waveform import Mark, WaveformSvg

WAVE = WaveformSvg(
    wave_path="M0,1L2.5,3Z",
    loudness_path="M0,4",
    marks=[Mark(x=12.5, kind="clip", label='<b>"clip"</b> at 0:01')],
    label="Bass & <Drums>.wav",
)


def _drawn() -> str:
    return Template("{% load review %}{% waveform_svg wave %}").render(Context({"wave": WAVE}))


def test_names_are_escaped_and_numbers_written_as_the_template_wrote_them() -> None:
    out = _drawn()
    assert 'aria-label="Bass &amp; &lt;Drums&gt;.wav"' in out
    assert "<title>Bass &amp; &lt;Drums&gt;.wav</title>" in out
    assert "<title>&lt;b&gt;&quot;clip&quot;&lt;/b&gt; at 0:01</title>" in out
    assert 'x1="12.5" x2="12.5"' in out and 'data-marks="1"' in out
    assert '<path class="wave" d="M0,1L2.5,3Z"/>' in out
    assert 'viewBox="0 0 480 80"' in out
    assert "<b>" not in out


def test_coordinates_keep_a_decimal_point_where_the_locale_writes_a_comma() -> None:
    with translation.override("de"):
        out = _drawn()
    assert 'x1="12.5" x2="12.5"' in out
    assert "12,5" not in out
