"""Sound-dose maths against NIOSH's published table (85 dBA for 8 h, 3 dB exchange rate)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from jobs.dose import (
    LevelOutOfRange,
    allowed_minutes,
    check_level,
    dose_between,
    dose_percent,
    exposures,
    minutes_left,
    monitoring_level,
)

# NIOSH's recommended exposure limits: level (dBA) and the time that is a whole day's dose.
NIOSH_TABLE = [
    (82, 16 * 60),
    (85, 8 * 60),
    (88, 4 * 60),
    (91, 2 * 60),
    (94, 60),
    (97, 30),
    (100, 15),
]


@pytest.mark.parametrize(("level", "minutes"), NIOSH_TABLE)
def test_each_row_of_the_niosh_table_is_a_full_days_dose(level: int, minutes: int) -> None:
    assert allowed_minutes(level) == pytest.approx(minutes)
    assert dose_percent([(level, minutes)]) == pytest.approx(100.0)


def test_half_the_time_is_half_the_dose_and_mixed_exposures_add_up() -> None:
    assert dose_percent([(85, 4 * 60)]) == pytest.approx(50.0)
    # 2 h at 85 (25 %) + 1 h at 88 (25 %) + 30 min at 91 (25 %) + 15 min at 94 (25 %)
    assert dose_percent([(85, 120), (88, 60), (91, 30), (94, 15)]) == pytest.approx(100.0)
    # 4 h at 82 is a quarter of the day; 90 min at 91 three quarters.
    assert dose_percent([(82, 240), (91, 90)]) == pytest.approx(100.0)
    assert dose_percent([]) == 0.0


def test_minutes_left_before_a_limit() -> None:
    assert minutes_left(85, 0, 100) == pytest.approx(480)
    assert minutes_left(91, 50, 100) == pytest.approx(60)  # half of 2 h left
    assert minutes_left(94, 25, 25) == 0.0
    assert minutes_left(94, 40, 25) == 0.0  # past it: nothing left, never negative


def test_the_monitoring_level_of_material_follows_the_calibration() -> None:
    assert monitoring_level(83) == 83  # material at the reference plays at the calibration
    assert monitoring_level(83, -14) == 89  # 6 dB hotter than the reference
    assert monitoring_level(79, -26) == 73


def test_exposures_cut_out_rests_and_split_at_level_changes() -> None:
    t0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
    minute = timedelta(minutes=1)
    pieces = exposures(
        [(t0, 85.0), (t0 + 60 * minute, 91.0)],
        end=t0 + 120 * minute,
        rests=[(t0 + 50 * minute, t0 + 70 * minute)],
    )
    assert [(p.level_dba, p.minutes) for p in pieces] == [(85.0, 50.0), (91.0, 50.0)]
    whole = dose_between(pieces)
    assert whole == pytest.approx(dose_percent([(85, 50), (91, 50)]))
    # Only the part after 11:30 counts for a window from then.
    assert dose_between(pieces, start=t0 + 90 * minute) == pytest.approx(25.0)


@pytest.mark.parametrize("value", [59.9, 100.5, 120, -3, float("nan")])
def test_an_implausible_level_is_refused_with_the_range(value: float) -> None:
    with pytest.raises(LevelOutOfRange) as refused:
        check_level(value, "The calibration")
    assert "between 60 and 100 dB SPL" in refused.value.message
    assert refused.value.message.startswith("The calibration")


def test_plausible_levels_pass() -> None:
    assert check_level(60) == 60.0 and check_level(100) == 100.0 and check_level(83.5) == 83.5
