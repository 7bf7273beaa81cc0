"""The console's languages: which one a request gets, the gettext catalogues, and times, numbers
and sizes written the way a reader of that language expects.

Users work in Vietnamese, often with colleagues who read English, so every string a page shows
goes through a gettext catalogue (`translations/<lang>/LC_MESSAGES/messages.po`, kept in step with
the code by `python -m app.console.catalogue update`). The `.po` files are the only copies: they
are compiled in memory the first time a language is used (a few milliseconds), so no `.mo` file
can go stale, none is committed, and an installed package needs no writable directory.

Times are stored in UTC; a reader sees them in the camera's own time zone with its UTC offset
spelled out (`03/12/2026 14:05:09 (UTC+07:00)`), because a camera in Hà Nội and an officer's
laptop set to another zone must not disagree about when something happened.
"""

from __future__ import annotations

import functools
import gettext
import os
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from decimal import Decimal
from io import BytesIO
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date, format_datetime, format_time
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal

from app.console.negotiation import weighted

LANGUAGES: tuple[str, ...] = ("vi", "en")
DEFAULT_LANGUAGE = "vi"
LANGUAGE_ENV = "WARDCAM_LANGUAGE"
# Each language named in itself (an autonym), the same whatever the page's language: a reader
# who cannot read the current page must still find their own.
LANGUAGE_NAMES: Mapping[str, str] = {"vi": "Tiếng Việt", "en": "English"}
TRANSLATIONS_DIR = Path(__file__).resolve().parent / "translations"
DOMAIN = "messages"

# Vietnamese readers write day/month/year with a 24-hour clock; English uses CLDR's medium
# format (`Mar 12, 2026, 2:05:09 PM`).
_PATTERNS: Mapping[str, Mapping[str, str]] = {
    "vi": {"datetime": "dd/MM/yyyy HH:mm:ss", "date": "dd/MM/yyyy", "time": "HH:mm:ss"},
    "en": {"datetime": "medium", "date": "medium", "time": "medium"},
}
TimePart = Literal["datetime", "date", "time"]

_SIZE_UNITS = ("B", "kB", "MB", "GB", "TB", "PB")
_TAG = re.compile(r"^[A-Za-z]{1,8}(?:[-_][A-Za-z0-9]{1,8})*$")


def N_(message: str) -> str:
    """Mark a string for the catalogue where it is defined; translate it where it is shown."""
    return message


def nfc(text: str) -> str:
    """Vietnamese letters typed on some systems arrive decomposed (e + combining marks); store
    and compare them composed, so that `Lê Lợi` typed anywhere is the same `Lê Lợi`."""
    return unicodedata.normalize("NFC", text)


# --- which language ----------------------------------------------------------------------------


def default_language(environ: Mapping[str, str] | None = None) -> str:
    """`WARDCAM_LANGUAGE` (`vi` or `en`, `vi` when unset); anything else is a configuration
    error, reported at start-up rather than shown as a page in the wrong language."""
    value = (os.environ if environ is None else environ).get(LANGUAGE_ENV, "").strip().lower()
    if not value:
        return DEFAULT_LANGUAGE
    if value not in LANGUAGES:
        raise ValueError(f"{LANGUAGE_ENV} must be one of {', '.join(LANGUAGES)}; got {value!r}")
    return value


def supported_language(tag: str | None) -> str | None:
    """The console language a tag asks for (`vi-VN` → `vi`, `EN_gb` → `en`), or None."""
    if not tag or not _TAG.match(tag.strip()):
        return None
    primary = re.split(r"[-_]", tag.strip(), maxsplit=1)[0].lower()
    return primary if primary in LANGUAGES else None


def parse_accept_language(header: str | None) -> list[str]:
    """The language tags of an Accept-Language header, most wanted first (`q=0` means "not
    this one" and is dropped; equal weights keep the header's order)."""
    ranked = [(-q, index, tag) for index, (tag, q) in enumerate(weighted(header))
              if tag and 0.0 < q <= 1.0]
    return [tag for _, _, tag in sorted(ranked)]


def negotiate_language(
    *,
    user_setting: str | None = None,
    accept_language: str | None = None,
    default: str = DEFAULT_LANGUAGE,
) -> str:
    """The user's own setting, else the first supported language of Accept-Language, else the
    configured default."""
    chosen = supported_language(user_setting)
    if chosen:
        return chosen
    for tag in parse_accept_language(accept_language):
        chosen = supported_language(tag)
        if chosen:
            return chosen
    if default not in LANGUAGES:
        raise ValueError(f"default language must be one of {', '.join(LANGUAGES)}")
    return default


# --- catalogues --------------------------------------------------------------------------------


def po_path(lang: str) -> Path:
    return TRANSLATIONS_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


@functools.cache
def translations(lang: str) -> gettext.GNUTranslations:
    """The compiled catalogue of `lang` (fuzzy entries left out, as `msgfmt` does)."""
    if lang not in LANGUAGES:
        raise ValueError(f"no catalogue for language {lang!r}")
    with po_path(lang).open("rb") as f:
        catalog = read_po(f, locale=lang, domain=DOMAIN)
    buffer = BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


# --- times, numbers, sizes ---------------------------------------------------------------------


def zone(tz: str | tzinfo) -> tzinfo:
    """An IANA name (`Asia/Ho_Chi_Minh`) or a tzinfo."""
    return ZoneInfo(tz) if isinstance(tz, str) else tz


def as_utc(value: datetime) -> datetime:
    """Storage is UTC: a naive datetime from the database is read as UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def format_utc_offset(offset: timedelta | None) -> str:
    """`UTC+07:00`, `UTC-03:30`, `UTC+00:00`."""
    minutes = round((offset or timedelta(0)).total_seconds() / 60)
    sign = "-" if minutes < 0 else "+"
    hours, mins = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours:02d}:{mins:02d}"


def format_local_datetime(
    value: datetime, tz: str | tzinfo, lang: str, *, part: TimePart = "datetime"
) -> str:
    """`value` in the time zone `tz`, written for `lang`, followed by that zone's UTC offset at
    that instant: `03/12/2026 14:05:09 (UTC+07:00)` (vi), `Dec 3, 2026, 2:05:09 PM
    (UTC+07:00)` (en). `part` picks the date, the time or both."""
    local = as_utc(value).astimezone(zone(tz))
    pattern = _PATTERNS[lang][part]
    if part == "date":
        return format_date(local.date(), pattern, locale=lang)
    if part == "time":
        text = format_time(local.timetz(), pattern, locale=lang)
    else:
        text = format_datetime(local, pattern, tzinfo=local.tzinfo, locale=lang)
    return f"{text} ({format_utc_offset(local.utcoffset())})"


def datetime_local_value(value: datetime, tz: str | tzinfo) -> str:
    """The value of an `<input type="datetime-local">` showing `value` in zone `tz`."""
    return as_utc(value).astimezone(zone(tz)).replace(tzinfo=None).isoformat(timespec="seconds")


def parse_datetime_local(text: str, tz: str | tzinfo) -> datetime:
    """An `<input type="datetime-local">` value (wall time in zone `tz`) as an aware datetime;
    ValueError when it is not `YYYY-MM-DDTHH:MM[:SS]`."""
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?", text.strip()):
        raise ValueError(f"not a local date and time: {text!r}")
    return datetime.fromisoformat(text.strip()).replace(tzinfo=zone(tz))


def format_number(value: float | Decimal, lang: str, *, digits: int | None = None) -> str:
    """`1.234.567,5` (vi), `1,234,567.5` (en); `digits` fixes the number of decimals."""
    pattern = None if digits is None else "#,##0" + ("." + "0" * digits if digits > 0 else "")
    return format_decimal(value, format=pattern, locale=lang)


def format_size(n_bytes: int, lang: str) -> str:
    """A byte count in SI units with the reader's decimal mark: `1,5 MB` (vi), `1.5 MB` (en)."""
    value = float(n_bytes)
    unit = 0
    while abs(value) >= 1000 and unit < len(_SIZE_UNITS) - 1:
        value /= 1000
        unit += 1
    pattern = "#,##0" if unit == 0 else "#,##0.#"
    return f"{format_decimal(value, format=pattern, locale=lang)}\u00a0{_SIZE_UNITS[unit]}"


# --- one language, bundled ---------------------------------------------------------------------


@dataclass(frozen=True)
class I18n:
    """Everything a page needs to speak one language; `i18n(lang)` gives the shared instance."""

    lang: str
    translations: gettext.GNUTranslations

    @property
    def locale(self) -> Locale:
        return Locale.parse(self.lang)

    def gettext(self, message: str) -> str:
        return self.translations.gettext(message)

    _ = gettext

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return self.translations.ngettext(singular, plural, n)

    def pgettext(self, context: str, message: str) -> str:
        return self.translations.pgettext(context, message)

    def npgettext(self, context: str, singular: str, plural: str, n: int) -> str:
        return self.translations.npgettext(context, singular, plural, n)

    def datetime(self, value: datetime, tz: str | tzinfo, *, part: TimePart = "datetime") -> str:
        return format_local_datetime(value, tz, self.lang, part=part)

    def number(self, value: float | Decimal, *, digits: int | None = None) -> str:
        return format_number(value, self.lang, digits=digits)

    def size(self, n_bytes: int) -> str:
        return format_size(n_bytes, self.lang)

    def decimal_symbols(self) -> dict[str, str]:
        """The decimal mark and thousands separator (for scripts that format numbers)."""
        symbols = self.locale.number_symbols["latn"]
        return {"decimal": symbols["decimal"], "thousands": symbols["group"]}


@functools.cache
def i18n(lang: str) -> I18n:
    return I18n(lang=lang, translations=translations(lang))
