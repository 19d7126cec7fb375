"""Stem names: the `Instrument - Track Name` scheme, suggested names, and stem importance.

Plain Python (no Django): used by the job rules, the views and the command line alike.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import PurePath

AUDIO_SUFFIXES = {".wav", ".wave", ".aif", ".aiff", ".aifc", ".flac", ".rf64", ".bwf"}

# Words that say "this is not an instrument name" (what DAWs and tired engineers produce).
_GENERIC = re.compile(
    r"^(?:audio|track|trk|untitled|stem|bounce|export|final|finalmix|mix|master|new|file|"
    r"take|copy|output|bus|channel|ch|st|mono|stereo|print)?\s*[\d_.\s-]*$",
    re.IGNORECASE,
)
_COPY_SUFFIX = re.compile(r"\s*(?:\(\d+\)|copy(?:\s*\d+)?|-\s*copy)\s*$", re.IGNORECASE)
_SPLIT = re.compile(r"^(?P<instrument>.+?)\s+[-\u2013\u2014]\s+(?P<track>.+)$")

# Instrument keywords, most important first. Each entry: (tier, canonical name, pattern).
# Tier 0: lead/main vocals; 1: lead instruments; 2: rhythm section; 3: harmony instruments;
# 4: backing vocals; 5: percussion and effects. Unknown names come last (tier 6).
_INSTRUMENTS: list[tuple[int, str, re.Pattern[str]]] = [
    (
        4,
        "Backing Vocals",
        re.compile(
            r"\b(?:bvs?|bgvs?|backing|backs|harmon\w*|choir|adlibs?|"
            r"ad-libs?|doubles?|dbl|oohs?|aahs?)\b",
            re.I,
        ),
    ),
    (0, "Lead Vocal", re.compile(r"\b(?:lead|main|ld)[\s_-]*(?:vocals?|vox|vocal)\b", re.I)),
    (0, "Vocal", re.compile(r"\b(?:vocals?|vox|voice|rap|singer|vo)\b", re.I)),
    (1, "Lead Guitar", re.compile(r"\b(?:lead|solo)[\s_-]*(?:gtr|guitars?)\b", re.I)),
    (1, "Lead Synth", re.compile(r"\b(?:lead|solo)[\s_-]*(?:synths?|keys?)\b", re.I)),
    (1, "Solo", re.compile(r"\b(?:solo|lead|sax|saxophone|trumpet|violin|flute)\b", re.I)),
    (2, "Kick", re.compile(r"\b(?:kick|kik|bd|bassdrum)\b", re.I)),
    (2, "Snare", re.compile(r"\b(?:snare|snr|sd)\b", re.I)),
    (2, "Bass", re.compile(r"\b(?:bass|sub|808|bassline)\b", re.I)),
    (
        2,
        "Drums",
        re.compile(
            r"\b(?:drums?|kit|overheads?|oh|toms?|hats?|hi-?hats?|"
            r"cymbals?|room)\b",
            re.I,
        ),
    ),
    (3, "Guitar", re.compile(r"\b(?:guitars?|gtrs?|acoustic|electric)\b", re.I)),
    (3, "Piano", re.compile(r"\b(?:piano|pno|rhodes|wurli|organ|keys?|keyboards?)\b", re.I)),
    (3, "Synth", re.compile(r"\b(?:synths?|pads?|arp|pluck|lead synth)\b", re.I)),
    (3, "Strings", re.compile(r"\b(?:strings?|cello|viola|orchestra|brass|horns?)\b", re.I)),
    (
        5,
        "Percussion",
        re.compile(
            r"\b(?:perc\w*|shaker|tamb\w*|conga|bongo|claps?|"
            r"snaps?)\b",
            re.I,
        ),
    ),
    (
        5,
        "FX",
        re.compile(
            r"\b(?:fx|sfx|effects?|risers?|sweeps?|impacts?|noise|ambien\w*|"
            r"atmos\w*)\b",
            re.I,
        ),
    ),
]


@dataclass(frozen=True)
class StemName:
    """A stem's file name taken apart. `instrument`/`track` are None when the scheme is not met."""

    original: str
    stem: str  # the name without directory or audio extension
    instrument: str | None
    track: str | None

    @property
    def follows_scheme(self) -> bool:
        return self.instrument is not None and self.track is not None


def clean_display_name(name: str) -> str:
    """The client's name without control or bidi-override characters (shown, never a path)."""
    return "".join(ch for ch in name if unicodedata.category(ch) not in {"Cc", "Cf"}).strip()


def base_name(name: str) -> str:
    """Drop any directory part and a known audio extension."""
    leaf = PurePath(clean_display_name(name).replace("\\", "/")).name or name
    suffix = PurePath(leaf).suffix
    if suffix.lower() in AUDIO_SUFFIXES:
        leaf = leaf[: -len(suffix)]
    return leaf.strip()


def parse_stem_name(name: str) -> StemName:
    stem = base_name(name)
    if _COPY_SUFFIX.search(stem):
        return StemName(name, stem, None, None)
    match = _SPLIT.match(stem.replace("_-_", " - "))
    if not match:
        return StemName(name, stem, None, None)
    instrument = match.group("instrument").strip()
    track = match.group("track").strip()
    if not re.search(r"[^\W\d_]", instrument) or _GENERIC.match(instrument) or not track:
        return StemName(name, stem, None, None)
    return StemName(name, stem, instrument, track)


def normalise(text: str) -> str:
    """Case, accents, punctuation and spacing do not matter when comparing names."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", "", folded)


def instrument_key(instrument: str) -> str:
    """What makes two instrument names the same instrument (`Guitar 2` differs from `Guitar`)."""
    return normalise(instrument)


def guess_instrument(name: str) -> str | None:
    """A canonical instrument name for a badly named file, keeping a number (`gtr2` -> Guitar 2)."""
    text = re.sub(r"[_.]+", " ", base_name(name))
    text = re.sub(r"([a-z])(\d)", r"\1 \2", text, flags=re.I)
    for _tier, canonical, pattern in _INSTRUMENTS:
        match = pattern.search(text)
        if match:
            after = text[match.end() : match.end() + 4]
            number = re.match(r"\s*(\d{1,2})\b", after)
            return f"{canonical} {number.group(1)}" if number else canonical
    return None


def suggest_stem_name(name: str, *, track_title: str) -> str:
    """`Instrument - Track Name.ext` for a stem; the instrument is guessed from the name or left
    for the client to fill in."""
    parsed = parse_stem_name(name)
    instrument = parsed.instrument or guess_instrument(name) or "Instrument"
    track = track_title.strip() or parsed.track or "Track Name"
    suffix = PurePath(clean_display_name(name)).suffix.lower()
    ext = suffix if suffix in AUDIO_SUFFIXES else ".wav"
    return f"{instrument} - {track}{ext}"


@lru_cache(maxsize=8192)  # a pure function of the name; the intake poll sorts by it every time
def stem_importance(name: str) -> tuple[int, str, int, str]:
    """Sort key: lead/main vocals and lead instruments first, then rhythm, harmony, backing
    vocals, percussion and effects; a numbered double (`Guitars 2`) after its first."""
    parsed = parse_stem_name(name)
    instrument = parsed.instrument or base_name(name)
    text = re.sub(r"[_.]+", " ", instrument)
    number_match = re.search(r"(\d+)\s*$", text)
    number = int(number_match.group(1)) if number_match else 1
    family = re.sub(r"s?\s*\d+\s*$", "", text).strip().lower()
    family = re.sub(r"s$", "", family)
    tier = 6
    for candidate_tier, _canonical, pattern in _INSTRUMENTS:
        if pattern.search(text):
            tier = candidate_tier
            break
    return (tier, family, number, normalise(name))


def order_by_importance(names: list[str]) -> list[str]:
    return sorted(names, key=stem_importance)


# What a file handed in probably is, from its name: the client confirms it before uploading.
_ROUGH_MIX = re.compile(
    r"\b(?:rough(?:[\s_-]*mix)?|mix[\s_-]*down|full[\s_-]*mix|pre-?master|demo[\s_-]*mix)\b",
    re.IGNORECASE,
)
_REFERENCE = re.compile(r"\b(?:ref|refs|reference|references|inspo|inspiration)\b", re.IGNORECASE)


def suggest_kind(name: str) -> str:
    """`rough_mix`, `reference` or `stem` (the FileKind values), from the file's name."""
    text = re.sub(r"[_.]+", " ", base_name(name))
    if _REFERENCE.search(text):
        return "reference"
    if _ROUGH_MIX.search(text):
        return "rough_mix"
    return "stem"


def browser_rules() -> dict[str, object]:
    """The naming rules as JavaScript regular expression sources (case-insensitive), so the
    hand-in page checks names with the same rules before upload (the server stays the judge)."""

    def js(pattern: re.Pattern[str]) -> str:
        return pattern.pattern.replace("(?P<", "(?<")

    return {
        "split": js(_SPLIT),
        "generic": js(_GENERIC),
        "copy": js(_COPY_SUFFIX),
        "rough_mix": js(_ROUGH_MIX),
        "reference": js(_REFERENCE),
        "instruments": [[canonical, js(pattern)] for _tier, canonical, pattern in _INSTRUMENTS],
        "audio_suffixes": sorted(AUDIO_SUFFIXES),
    }
