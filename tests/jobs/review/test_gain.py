"""The A/B gains: attenuation only, the quietest source as the reference, the -14 LUFS preview."""

from __future__ import annotations

import pytest

from jobs.review.gain import ab_gains


def test_matched_brings_every_source_down_to_the_quietest() -> None:
    master, rough, reference = ab_gains([-9.2, -14.6, -7.1])
    assert (master.matched, rough.matched, reference.matched) == (-5.4, 0.0, -7.5)
    assert rough.why == "the quietest source: played as it is"
    assert master.why == "turned down 5.4 dB to -14.6 LUFS"


def test_nothing_is_ever_turned_up() -> None:
    for gains in ab_gains([-30.0, -6.0, -14.0, -3.5]):
        assert gains.matched <= 0.0 and gains.streaming <= 0.0 and gains.unmatched == 0.0


def test_the_streaming_preview_turns_down_only_what_is_louder_than_minus_14() -> None:
    loud, quiet, exact = ab_gains([-8.0, -18.0, -14.0])
    assert (loud.streaming, quiet.streaming, exact.streaming) == (-6.0, 0.0, 0.0)
    assert ab_gains([-8.0], streaming_target=-16.0)[0].streaming == -8.0


def test_silent_or_unmeasured_sources_play_as_they_are() -> None:
    silent, master = ab_gains([None, -10.0])
    assert silent.as_dict() == {"matched": 0.0, "unmatched": 0.0, "streaming": 0.0}
    assert master.matched == 0.0  # the only measured source is its own reference
    assert "no loudness" in silent.why
    assert ab_gains([]) == []


@pytest.mark.parametrize("loudness", [[-9.0, -9.0], [-12.345, -12.345]])
def test_equal_loudness_needs_no_gain(loudness: list[float]) -> None:
    assert [g.matched for g in ab_gains(loudness)] == [0.0, 0.0]
