"""Which language a request gets, and times, numbers and sizes as a reader of it expects them:
Vietnamese day/month/year on a 24-hour clock, English in CLDR's medium format, always in the
camera's own zone with its UTC offset."""

from __future__ import annotations

import unicodedata
from datetime import UTC, datetime, timedelta, timezone

import pytest

from app.console.i18n import (
    DEFAULT_LANGUAGE,
    datetime_local_value,
    default_language,
    format_local_datetime,
    format_number,
    format_size,
    format_utc_offset,
    i18n,
    negotiate_language,
    nfc,
    parse_accept_language,
    parse_datetime_local,
    supported_language,
    translations,
)

HCMC = "Asia/Ho_Chi_Minh"
# 07:05:09 UTC is 14:05:09 in Hồ Chí Minh City (UTC+07:00 all year).
INSTANT = datetime(2026, 12, 3, 7, 5, 9, tzinfo=UTC)


# --- negotiation -------------------------------------------------------------------------------


def test_the_users_setting_wins_over_the_browser_and_the_default() -> None:
    assert negotiate_language(user_setting="en", accept_language="vi-VN,vi", default="vi") == "en"
    assert negotiate_language(user_setting="vi", accept_language="en-US", default="en") == "vi"
    assert negotiate_language(user_setting="vi-VN", accept_language=None, default="en") == "vi"


def test_an_unsupported_setting_falls_through_to_accept_language() -> None:
    assert negotiate_language(user_setting="fr", accept_language="en-GB,en", default="vi") == "en"
    assert negotiate_language(user_setting="", accept_language="en", default="vi") == "en"


def test_accept_language_is_read_by_weight_not_by_position() -> None:
    header = "fr-FR, en;q=0.8, vi;q=0.9, de;q=0.95"
    assert parse_accept_language(header) == ["fr-FR", "de", "vi", "en"]
    assert negotiate_language(accept_language=header, default="en") == "vi"
    assert negotiate_language(accept_language="en-US,en;q=0.9,vi;q=0.8", default="vi") == "en"


def test_q_zero_means_not_this_one() -> None:
    assert parse_accept_language("vi;q=0, en;q=0.5") == ["en"]
    assert negotiate_language(accept_language="vi;q=0", default="en") == "en"


def test_without_a_usable_choice_the_configured_default_is_used() -> None:
    for header in (None, "", "*", "fr-FR,de;q=0.8", "en;q=abc", "<script>", ";;,,"):
        assert negotiate_language(accept_language=header, default="en") == "en", header
        assert negotiate_language(accept_language=header, default="vi") == "vi", header
    with pytest.raises(ValueError, match="default language"):
        negotiate_language(accept_language="fr", default="fr")


def test_language_tags_are_matched_on_their_primary_subtag() -> None:
    assert supported_language("VI_vn") == "vi"
    assert supported_language("en-Latn-GB") == "en"
    assert supported_language("vie") is None
    assert supported_language("vi vi") is None
    assert supported_language(None) is None


def test_the_default_comes_from_wardcam_language() -> None:
    assert default_language({}) == DEFAULT_LANGUAGE == "vi"
    assert default_language({"WARDCAM_LANGUAGE": "en"}) == "en"
    assert default_language({"WARDCAM_LANGUAGE": " EN "}) == "en"
    assert default_language({"WARDCAM_LANGUAGE": ""}) == "vi"
    with pytest.raises(ValueError, match="WARDCAM_LANGUAGE must be one of vi, en; got 'fr'"):
        default_language({"WARDCAM_LANGUAGE": "fr"})


# --- catalogues at run time ---------------------------------------------------------------------


def test_catalogues_translate_and_fall_back_to_the_source() -> None:
    vi, en = i18n("vi"), i18n("en")
    assert vi.gettext("Sign out") == "Đăng xuất"
    assert en.gettext("Sign out") == "Sign out"
    # A string the catalogue does not know is shown as written (English), never as nothing.
    assert vi.gettext("A sentence nobody translated") == "A sentence nobody translated"
    with pytest.raises(ValueError, match="no catalogue"):
        translations("fr")


def test_plurals_follow_each_language() -> None:
    one, many = "%(count)s camera on this map", "%(count)s cameras on this map"
    # Vietnamese has one form for every count; English has two.
    assert i18n("vi").ngettext(one, many, 1) == i18n("vi").ngettext(one, many, 7)
    assert i18n("vi").ngettext(one, many, 7) == "%(count)s camera trên bản đồ này"
    assert i18n("en").ngettext(one, many, 1) == one
    assert i18n("en").ngettext(one, many, 7) == many


def test_vietnamese_text_is_composed() -> None:
    decomposed = unicodedata.normalize("NFD", "Nguyễn Thị Ánh, đường Lê Lợi")
    assert decomposed != "Nguyễn Thị Ánh, đường Lê Lợi"
    assert nfc(decomposed) == "Nguyễn Thị Ánh, đường Lê Lợi"
    assert nfc(nfc(decomposed)) == nfc(decomposed)


# --- times --------------------------------------------------------------------------------------


def test_vietnamese_time_in_the_cameras_zone_with_its_offset() -> None:
    assert format_local_datetime(INSTANT, HCMC, "vi") == "03/12/2026 14:05:09 (UTC+07:00)"
    assert format_local_datetime(INSTANT, HCMC, "vi", part="date") == "03/12/2026"
    assert format_local_datetime(INSTANT, HCMC, "vi", part="time") == "14:05:09 (UTC+07:00)"


def test_english_time_in_the_cameras_zone_with_its_offset() -> None:
    # CLDR puts a narrow no-break space before AM/PM.
    assert format_local_datetime(INSTANT, HCMC, "en") == "Dec 3, 2026, 2:05:09\u202fPM (UTC+07:00)"
    assert format_local_datetime(INSTANT, HCMC, "en", part="date") == "Dec 3, 2026"
    assert format_local_datetime(INSTANT, HCMC, "en", part="time") == "2:05:09\u202fPM (UTC+07:00)"


def test_the_local_date_can_differ_from_the_utc_date() -> None:
    late = datetime(2026, 12, 31, 20, 30, tzinfo=UTC)
    assert format_local_datetime(late, HCMC, "vi") == "01/01/2027 03:30:00 (UTC+07:00)"
    assert format_local_datetime(late, HCMC, "en") == "Jan 1, 2027, 3:30:00\u202fAM (UTC+07:00)"


def test_a_naive_time_from_the_database_is_utc() -> None:
    naive = INSTANT.replace(tzinfo=None)
    assert format_local_datetime(naive, HCMC, "vi") == format_local_datetime(INSTANT, HCMC, "vi")


def test_the_offset_is_the_one_in_force_at_that_instant() -> None:
    berlin = "Europe/Berlin"
    summer = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)
    assert format_local_datetime(summer, berlin, "vi") == "01/07/2026 14:00:00 (UTC+02:00)"
    assert format_local_datetime(INSTANT, berlin, "vi") == "03/12/2026 08:05:09 (UTC+01:00)"
    assert format_local_datetime(INSTANT, "America/St_Johns", "vi").endswith("(UTC-03:30)")
    assert format_local_datetime(INSTANT, timezone(timedelta(hours=5, minutes=45)), "en") == (
        "Dec 3, 2026, 12:50:09\u202fPM (UTC+05:45)"
    )
    assert format_utc_offset(timedelta(0)) == "UTC+00:00"
    assert format_utc_offset(None) == "UTC+00:00"


def test_datetime_local_inputs_round_trip_in_the_cameras_zone() -> None:
    assert datetime_local_value(INSTANT, HCMC) == "2026-12-03T14:05:09"
    back = parse_datetime_local("2026-12-03T14:05:09", HCMC)
    assert back == INSTANT
    assert back.utcoffset() == timedelta(hours=7)
    assert parse_datetime_local("2026-12-03T14:05", HCMC) == INSTANT.replace(second=0)
    for bad in ("2026-12-03", "14:05", "2026-12-03T14:05+07:00", "03/12/2026 14:05", ""):
        with pytest.raises(ValueError, match="not a local date and time"):
            parse_datetime_local(bad, HCMC)


# --- numbers and sizes --------------------------------------------------------------------------


def test_numbers_in_the_readers_locale() -> None:
    assert format_number(1234567.5, "vi") == "1.234.567,5"
    assert format_number(1234567.5, "en") == "1,234,567.5"
    assert format_number(3, "vi", digits=2) == "3,00"
    assert format_number(2.5, "en", digits=0) == "2"  # half to even, as Babel rounds
    assert i18n("vi").decimal_symbols() == {"decimal": ",", "thousands": "."}
    assert i18n("en").decimal_symbols() == {"decimal": ".", "thousands": ","}


def test_sizes_in_si_units_with_the_readers_decimal_mark() -> None:
    nbsp = "\u00a0"
    assert format_size(0, "vi") == f"0{nbsp}B"
    assert format_size(999, "en") == f"999{nbsp}B"
    assert format_size(1500, "vi") == f"1,5{nbsp}kB"
    assert format_size(1_733_881, "vi") == f"1,7{nbsp}MB"
    assert format_size(1_733_881, "en") == f"1.7{nbsp}MB"
    assert format_size(2_000_000_000, "en") == f"2{nbsp}GB"
    assert format_size(8 * 1024**3, "vi") == f"8,6{nbsp}GB"
