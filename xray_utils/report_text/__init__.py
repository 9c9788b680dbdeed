"""Every word of the report, in English and Traditional Chinese.

Headings, table labels and sentence templates only: the numbers are filled in by ``report`` from the run
directories, so no sentence here can claim a result the runs do not show. ``text(lang, key, **values)``
picks the language and formats the template. The tables: ``en`` and ``zh_tw`` (one key set); Task A's
English descriptions live beside the models (models.SPECS[backbone].description), the Chinese ones in ``zh_tw``.
"""

from __future__ import annotations

from ..errors import ConfigError
from .en import EN
from .zh_tw import DESCRIPTIONS_ZH_TW, ZH_TW

LANGS = ("en", "zh-TW")

# Font stack for the HTML report: a CJK font first among the fallbacks, so zh-TW never shows tofu boxes.
FONT_FAMILY = ('"Noto Sans", "DejaVu Sans", "Noto Sans CJK TC", "Noto Sans TC", "Microsoft JhengHei", '
               '"PingFang TC", "Heiti TC", sans-serif')

__all__ = ["DESCRIPTIONS_ZH_TW", "EN", "FONT_FAMILY", "LANGS", "TEXTS", "ZH_TW", "check_lang", "description",
           "has_text", "text"]

TEXTS = {"en": EN, "zh-TW": ZH_TW}
assert set(EN) == set(ZH_TW), f"untranslated keys: {sorted(set(EN) ^ set(ZH_TW))}"


def check_lang(lang: str) -> str:
    if lang not in TEXTS:
        raise ConfigError(f"unknown report language {lang!r}", f"use one of: {', '.join(LANGS)}")
    return lang


def has_text(key: str) -> bool:
    """Whether ``key`` is one of the report's texts (the same keys in every language)."""
    return key in EN


def text(lang: str, key: str, **values) -> str:
    """The template ``key`` in ``lang``, formatted with ``values``."""
    return TEXTS[check_lang(lang)][key].format(**values)


def description(lang: str, backbone: str, english: str) -> str:
    """Task A's description of ``backbone`` in ``lang`` (``english`` is models.SPECS[backbone].description)."""
    if check_lang(lang) == "zh-TW":
        return DESCRIPTIONS_ZH_TW.get(backbone, english)
    return english
