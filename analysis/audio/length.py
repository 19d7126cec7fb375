"""How long a file says it is, from its header alone (no audio decoded): lets a length limit be
enforced before a file is stored."""

from __future__ import annotations

from dataclasses import dataclass
from typing import IO

from .sniff import sniff_file


@dataclass(frozen=True)
class DeclaredLength:
    seconds: float | None  # None when the file is not lossless audio we read
    what: str  # what the file looks like, in words ("a WAV file", "a PDF document")


def declared_length(f: IO[bytes]) -> DeclaredLength:
    """The length a WAV, AIFF or FLAC header declares (frames / sample rate). Anything else,
    lossy audio included, gives seconds=None with what it looks like. The position is left at
    the start. Never raises for a bad file."""
    try:
        found = sniff_file(f)
        f.seek(0)
        if not found.lossless:
            return DeclaredLength(None, found.description)
        # Imported on use: soundfile loads libsndfile and numpy, which page views need not.
        import soundfile as sf

        with sf.SoundFile(f) as snd:
            frames, rate = snd.frames, snd.samplerate
    except (RuntimeError, OSError, ValueError, TypeError):
        return DeclaredLength(None, "a file whose header cannot be read")
    finally:
        f.seek(0)
    if rate <= 0 or frames <= 0:
        return DeclaredLength(None, f"{found.description} with no audio in it")
    return DeclaredLength(frames / rate, found.description)
