"""Free text from clients: one rule for every name, title, note, reason and purpose.

Text is normalised to Unicode NFC (Vietnamese typed on one phone arrives precomposed, pasted
from another decomposed: `ệ` as one code point or as `e` + two combining marks; both must be
the same name), and control characters are refused: NUL and the other C0/C1 controls, and the
format characters (Cf) that change how text *looks* without being seen, such as the bidi
overrides (U+202E turns `gpj.exe` into what reads as `exe.jpg`) and zero-width spaces. Only
zero-width (non-)joiners, which some scripts need, are kept. Multi-line fields (notes, reasons)
keep line breaks and tabs; single-line fields do not.

`CleanStr` (one line) and `CleanText` (several) are annotated types: add `StringConstraints`
for lengths (counted after normalisation), e.g.
`Annotated[CleanStr, StringConstraints(min_length=1, max_length=200)]`.
`name_key` is the form names are compared in for uniqueness (NFC, case-folded, spaces
collapsed), so "Phường Bến Nghé" and "PHƯỜNG  BẾN NGHÉ" are one organisation.
"""

from __future__ import annotations

import unicodedata
from typing import Annotated

from pydantic import AfterValidator
from pydantic_core import PydanticCustomError

ALLOWED_FORMAT = frozenset({"\u200c", "\u200d"})
"""Zero-width non-joiner and joiner: needed to spell words in several scripts."""
LINE_BREAKS = frozenset({"\n", "\t"})
INVALID_TEXT = "invalid_text"
"""The error type (and API error `code`) of text with control characters."""


def _refused(ch: str, multiline: bool) -> bool:
    if multiline and ch in LINE_BREAKS:
        return False
    category = unicodedata.category(ch)
    if category in ("Cc", "Cs"):
        return True
    return category == "Cf" and ch not in ALLOWED_FORMAT


def clean(value: str, *, multiline: bool = False) -> str:
    """`value` in NFC, stripped; ValueError-like `PydanticCustomError` on a control character."""
    if multiline:
        value = value.replace("\r\n", "\n").replace("\r", "\n")
    value = unicodedata.normalize("NFC", value).strip()
    for pos, ch in enumerate(value):
        if _refused(ch, multiline):
            raise PydanticCustomError(
                INVALID_TEXT,
                "control or invisible formatting character U+{cp} at position {pos} "
                "(NUL, bidi overrides, zero-width spaces and"
                + (" other controls" if multiline else " line breaks or tabs")
                + " are not allowed)",
                {"cp": f"{ord(ch):04X}", "pos": pos},
            )
    return value


def _clean_line(value: str) -> str:
    return clean(value)


def _clean_lines(value: str) -> str:
    return clean(value, multiline=True)


CleanStr = Annotated[str, AfterValidator(_clean_line)]
"""One line of text: NFC, stripped, no control or invisible formatting characters."""
CleanText = Annotated[str, AfterValidator(_clean_lines)]
"""Several lines: as `CleanStr`, but line breaks (normalised to `\\n`) and tabs are kept."""


def name_key(value: str) -> str:
    """The form a name is compared in for uniqueness: NFC, case-folded, inner whitespace
    collapsed to one space."""
    folded = unicodedata.normalize("NFC", unicodedata.normalize("NFC", value).casefold())
    return " ".join(folded.split())
