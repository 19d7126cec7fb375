"""Text for a spreadsheet: CSV exports (the board, compliance) pass every cell that people typed
(a track title, an artist, a client's name, a reason) through `text_cell`, so a spreadsheet opens
it as text and never runs it as a formula."""

from __future__ import annotations

# What a spreadsheet takes as the start of a formula (or, tab and carriage return, what hides one).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def text_cell(value: str) -> str:
    """The value, with a leading apostrophe when it starts like a formula."""
    return "'" + value if value[:1] in FORMULA_STARTS else value
