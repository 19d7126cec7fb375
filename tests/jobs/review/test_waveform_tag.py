"""The waveform tag writes the SVG the template did, its names escaped."""

from __future__ import annotations

from django.template import Context, Template

from jobs.review.waveform import Mark, WaveformSvg


def test_names_are_escaped_and_numbers_written_as_the_template_wrote_them() -> None:
    wave = WaveformSvg(
        wave_path="M0,1L2.5,3Z",
        loudness_path="M0,4",
        marks=[Mark(x=12.5, kind="clip", label='<b>"clip"</b> at 0:01')],
        label="Bass & <Drums>.wav",
    )
    out = Template("{% load review %}{% waveform_svg wave %}").render(Context({"wave": wave}))
    assert 'aria-label="Bass &amp; &lt;Drums&gt;.wav"' in out
    assert "<title>Bass &amp; &lt;Drums&gt;.wav</title>" in out
    assert "<title>&lt;b&gt;&quot;clip&quot;&lt;/b&gt; at 0:01</title>" in out
    assert 'x1="12.5" x2="12.5"' in out and 'data-marks="1"' in out
    assert '<path class="wave" d="M0,1L2.5,3Z"/>' in out
    assert "<b>" not in out
