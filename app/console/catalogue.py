"""Keeping the message catalogues in step with the code.

    python -m app.console.catalogue update   # extract, merge into vi/en, drop what is gone
    python -m app.console.catalogue check    # exit 1 and list what is missing or wrong

One implementation for the maintainer's command and for the test that fails when a string has
no Vietnamese translation, so the two cannot disagree about what "complete" means. English is
the source language: `update` fills an English msgstr with its msgid, and a translator may then
improve the English wording without touching the code.
"""

from __future__ import annotations

import re
import sys
import unicodedata
from collections.abc import Iterable
from pathlib import Path

from babel.messages import frontend
from babel.messages.catalog import Catalog, Message
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.pofile import read_po, write_po

from app.console.i18n import DOMAIN, LANGUAGE_NAMES, LANGUAGES, po_path

CONSOLE_DIR = Path(__file__).resolve().parent
BABEL_CFG = CONSOLE_DIR / "babel.cfg"
SOURCE_LANGUAGE = "en"
COMMENT_TAGS = ("Translators:",)
PROJECT = "wardcam"
# `{name}` placeholders of the strings that scripts format; `%(name)s` ones are checked by Babel.
_BRACES = re.compile(r"\{(\w+)\}")


def _method_map() -> tuple[list[tuple[str, str]], dict[str, dict[str, str]]]:
    parse = getattr(frontend, "parse_mapping_cfg", None) or frontend.parse_mapping
    with BABEL_CFG.open(encoding="utf-8") as f:
        return parse(f, filename=str(BABEL_CFG))


def extract() -> Catalog:
    """Every translatable string in the console's Python modules and templates."""
    method_map, options_map = _method_map()
    template = Catalog(project=PROJECT, domain=DOMAIN, fuzzy=False)
    for filename, lineno, message, comments, context in extract_from_dir(
        CONSOLE_DIR,
        method_map,
        options_map,
        keywords=DEFAULT_KEYWORDS,
        comment_tags=COMMENT_TAGS,
        strip_comment_tags=True,
    ):
        template.add(message, None, [(filename, lineno)], auto_comments=comments, context=context)
    return template


def load(lang: str) -> Catalog:
    with po_path(lang).open("rb") as f:
        return read_po(f, locale=lang, domain=DOMAIN)


def _ids(catalog: Catalog) -> set[tuple[str, str | None]]:
    return {(_singular(m), m.context) for m in catalog if m.id}


def _singular(message: Message) -> str:
    return message.id if isinstance(message.id, str) else message.id[0]


def _strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, Iterable):
        return [v if isinstance(v, str) else "" for v in value]
    return [""]


def update(template: Catalog | None = None) -> None:
    """Merge the extracted strings into every language's `.po`: new ones appear (empty in
    Vietnamese, copied in English), vanished ones are dropped."""
    template = extract() if template is None else template
    for lang in LANGUAGES:
        path = po_path(lang)
        if path.exists():
            catalog = load(lang)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            catalog = Catalog(locale=lang, domain=DOMAIN, project=PROJECT, fuzzy=False)
        catalog.update(template, update_creation_date=False)
        _header(catalog, lang)
        catalog.obsolete.clear()
        if lang == SOURCE_LANGUAGE:
            for message in catalog:
                if message.id and not any(_strings(message.string)):
                    message.string = message.id
        with path.open("wb") as f:
            write_po(f, catalog, ignore_obsolete=True, include_lineno=False, sort_output=True)


def _header(catalog: Catalog, lang: str) -> None:
    catalog.header_comment = (
        f"# Messages of the wardcam console in {LANGUAGE_NAMES[lang]} ({lang}).\n"
        "# Kept in step with the code by `python -m app.console.catalogue update`\n"
        "# (see app/console/babel.cfg); this file is the only copy, compiled at start-up."
    )
    catalog.project = PROJECT
    catalog.version = "1"
    catalog.msgid_bugs_address = "the wardcam issue tracker"
    catalog.copyright_holder = "the wardcam authors"
    catalog.last_translator = "the wardcam authors"
    catalog.language_team = f"{LANGUAGE_NAMES[lang]} ({lang})"


def problems(
    lang: str, template: Catalog | None = None, catalog: Catalog | None = None
) -> list[str]:
    """What keeps `lang` from being complete and right: strings of the code that it lacks,
    strings it has that the code no longer uses, empty or fuzzy translations, text not in NFC,
    and placeholders that differ from the source's."""
    template = extract() if template is None else template
    catalog = load(lang) if catalog is None else catalog
    out: list[str] = []
    wanted, present = _ids(template), _ids(catalog)
    out += [f"{lang}: missing {msgid!r}" for msgid, _ in sorted(wanted - present, key=str)]
    out += [f"{lang}: not in the code {msgid!r}" for msgid, _ in sorted(present - wanted, key=str)]
    for message in catalog:
        if not message.id:
            continue
        name = repr(_singular(message))
        strings = _strings(message.string)
        if not all(strings):
            out.append(f"{lang}: empty translation of {name}")
        if message.fuzzy:
            out.append(f"{lang}: fuzzy (needs review) {name}")
        for text in strings:
            if unicodedata.normalize("NFC", text) != text:
                out.append(f"{lang}: not NFC {name}")
            if text and set(_BRACES.findall(text)) != set(_BRACES.findall(_singular(message))):
                out.append(f"{lang}: placeholders differ in {name}: {text!r}")
        out += [f"{lang}: {error} in {name}" for error in message.check(catalog)]
    return out


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    command = args[0] if args else "check"
    if command == "update":
        update()
        print("updated: " + ", ".join(str(po_path(lang)) for lang in LANGUAGES))
        return 0
    if command == "check":
        template = extract()
        found = [p for lang in LANGUAGES for p in problems(lang, template)]
        print("\n".join(found) if found else f"{len(template)} messages, all translated")
        return 1 if found else 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
