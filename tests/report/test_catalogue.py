"""The message catalogues: every key in every language, the same placeholders, every key used exists."""

from __future__ import annotations

import re
import string
from pathlib import Path

import pytest

from caspr.report import i18n
from caspr.report.document import GROUPS
from caspr.rules import REGIMES

TEMPLATES = Path(i18n.__file__).parent / "templates"
SOURCES = [*TEMPLATES.glob("*.j2"), *Path(i18n.__file__).parent.glob("*.py")]


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def used_keys() -> set[str]:
    """Every literal key passed to t(...) in the templates and the report modules."""
    pattern = re.compile(r"""\bt\(\s*["']([a-z_][a-z0-9_.]*[a-z0-9_])["']""")
    return {key for path in SOURCES for key in pattern.findall(path.read_text(encoding="utf-8"))}


def test_english_and_japanese_are_both_there():
    assert i18n.languages() == ("en", "ja")


@pytest.mark.parametrize("language", ["ja"])
def test_every_key_exists_in_both_languages_with_the_same_placeholders(language):
    english, other = i18n.catalogue("en"), i18n.catalogue(language)
    assert len(english) > 200
    assert sorted(set(english) - set(other)) == []
    assert sorted(set(other) - set(english)) == []
    for key, text in english.items():
        assert placeholders(other[key]) == placeholders(text), key


def test_every_key_the_reports_use_exists():
    keys = used_keys()
    assert "report.title" in keys and "section.findings" in keys  # the scan finds the keys
    assert sorted(keys - set(i18n.catalogue("en"))) == []


def test_every_dynamic_key_exists():
    english = i18n.catalogue("en")
    dynamic = [
        *(f"group.{g}" for g in GROUPS),
        *(f"severity.{g}" for g in GROUPS),
        *(f"status.{s}" for s in ("in_force", "proposed", "unverified")),
        *(f"regime.{r}.title" for r in REGIMES),
        *(f"regime.{r}.short" for r in REGIMES),
    ]
    assert [k for k in dynamic if k not in english] == []


def test_japanese_uses_the_statutes_names():
    ja = i18n.catalogue("ja")
    assert ja["finding.jp.psa.63-11-2"] == "履行保証暗号資産（資金決済法第63条の11の2）"
    assert "暗号資産交換業者に関する内閣府令第27条第2項" in ja["finding.jp.ordinance.27(2)"]
    assert "責任準備金" in ja["regime.jp-crypto-reserve.title"]
    assert "分別管理" in ja["finding.jp.psa.63-11(2)"]


def test_unknown_language_is_refused():
    with pytest.raises(ValueError, match="no report language 'xx'"):
        i18n.catalogue("xx")
