"""The catalogues are complete: every string of the console's code and templates has a
Vietnamese translation (and an English one), none is empty, fuzzy, decomposed or missing a
placeholder, and none is left over from code that is gone. Fix with
`python -m app.console.catalogue update`, then translate what it added."""

from __future__ import annotations

import copy
import unicodedata

import pytest
from babel.messages.catalog import Catalog

from app.console import catalogue
from app.console.i18n import LANGUAGES, i18n, translations
from app.console.maps import _DRAW, map_strings


@pytest.fixture(scope="module")
def template() -> Catalog:
    return catalogue.extract()


def singular(message_id: str | tuple[str, ...] | list[str]) -> str:
    return message_id if isinstance(message_id, str) else message_id[0]


def test_extraction_reads_python_and_templates(template: Catalog) -> None:
    """Guard against a babel.cfg that silently finds nothing in one kind of file."""
    found = {singular(m.id): {loc for loc, _ in m.locations} for m in template if m.id}
    assert "templates/base.html" in found["Skip to main content"]
    assert "templates/_macros.html" in found["Load more"]
    assert "maps.py" in found["Draw a polygon"]
    assert "templating.py" in found["Ward committee"]
    plural = next(m for m in template if singular(m.id) == "%(count)s camera on this map")
    assert plural.pluralizable
    assert len(template) >= 60


@pytest.mark.parametrize("lang", LANGUAGES)
def test_catalogue_is_complete_and_clean(template: Catalog, lang: str) -> None:
    problems = catalogue.problems(lang, template)
    assert not problems, (
        "run `python -m app.console.catalogue update` and translate:\n" + "\n".join(problems)
    )


def test_every_vietnamese_translation_is_what_the_page_shows(template: Catalog) -> None:
    """The .po is compiled at start-up: each entry comes out of the compiled catalogue as written
    in the file, in NFC."""
    vi = catalogue.load("vi")
    compiled = translations("vi")
    checked = 0
    for message in vi:
        if not isinstance(message.id, str) or not message.id:
            continue  # the header, and plurals (checked through ngettext elsewhere)
        assert compiled.gettext(message.id) == message.string
        assert unicodedata.is_normalized("NFC", message.string)
        checked += 1
    assert checked >= 60


def test_the_checker_reports_each_kind_of_problem(template: Catalog) -> None:
    """The completeness test must be able to fail."""
    broken = copy.deepcopy(catalogue.load("vi"))
    broken["Sign out"].string = ""
    broken["Load more"].flags.add("fuzzy")
    broken["Save"].string = unicodedata.normalize("NFD", "Lưu")
    broken["Upload failed: {detail}"].string = "Tải lên thất bại"
    broken["Recording started at (camera time, %(zone)s)"].string = "Bắt đầu ghi (%(vùng)s)"
    broken.delete("Language")
    broken.add("A string the code no longer has", "Một chuỗi cũ")
    found = "\n".join(catalogue.problems("vi", template, broken))
    assert "vi: empty translation of 'Sign out'" in found
    assert "vi: fuzzy (needs review) 'Load more'" in found
    assert "vi: not NFC 'Save'" in found
    assert "vi: placeholders differ in 'Upload failed: {detail}'" in found
    assert "Recording started at (camera time, %(zone)s)" in found  # Babel's format check
    assert "vi: missing 'Language'" in found
    assert "vi: not in the code 'A string the code no longer has'" in found


def test_leaflet_draw_strings_carry_no_markup() -> None:
    """leaflet-draw puts its strings into the page with innerHTML: no `<` or `&` in any
    translation of them."""

    def leaves(tree: object) -> list[str]:
        if isinstance(tree, dict):
            return [leaf for value in tree.values() for leaf in leaves(value)]
        return [str(tree)]

    for lang in LANGUAGES:
        texts = leaves(map_strings(i18n(lang))["draw"])
        assert len(texts) == len(leaves(_DRAW)) + 2  # + the two delimiters
        assert not [t for t in texts if "<" in t or "&" in t], lang
