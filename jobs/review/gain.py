"""Loudness matching for A/B listening: the gain each source is played at so that switching
compares sound, not level. Attenuation only, so nothing is ever pushed over 0 dBFS (and no
limiter is needed): matched, every source comes down to the quietest one's integrated loudness;
the streaming preview turns down what is louder than the target, as the services do, and leaves
what is quieter as it is. Plain Python."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

STREAMING_TARGET_LUFS = -14.0
MATCHED, UNMATCHED, STREAMING = "matched", "unmatched", "streaming"
MODES = (MATCHED, UNMATCHED, STREAMING)


@dataclass(frozen=True)
class Gains:
    """Per source and mode, the gain in dB (always <= 0) and what it means."""

    matched: float
    unmatched: float
    streaming: float
    why: str

    def as_dict(self) -> dict[str, float]:
        return {MATCHED: self.matched, UNMATCHED: self.unmatched, STREAMING: self.streaming}


def _attenuation(target: float | None, loudness: float | None) -> float:
    if target is None or loudness is None:
        return 0.0
    return round(min(0.0, target - loudness), 2)


def ab_gains(
    loudness: Sequence[float | None], *, streaming_target: float = STREAMING_TARGET_LUFS
) -> list[Gains]:
    """`loudness`: each source's measured integrated loudness (None: silent or unmeasured,
    played as it is)."""
    known = [v for v in loudness if v is not None]
    quietest = min(known) if known else None
    out = []
    for value in loudness:
        matched = _attenuation(quietest, value)
        streaming = _attenuation(streaming_target, value)
        if value is None:
            why = "no loudness measured: played as it is"
        elif matched == 0.0:
            why = "the quietest source: played as it is"
        else:
            why = f"turned down {-matched:.1f} dB to {quietest:.1f} LUFS"
        out.append(Gains(matched=matched, unmatched=0.0, streaming=streaming, why=why))
    return out
