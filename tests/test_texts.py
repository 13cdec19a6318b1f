"""The bot's words exist in both languages with the same placeholders."""

from __future__ import annotations

import string

import pytest

from bot.glm.errors import GLMRateLimited, error_for
from bot.texts import LANGS, TEXTS, lang_from_locale, t


def _fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


@pytest.mark.parametrize("key", sorted(TEXTS))
def test_every_text_has_both_languages_with_the_same_placeholders(key: str) -> None:
    entry = TEXTS[key]
    assert set(entry) == set(LANGS)
    assert all(entry[lang].strip() for lang in LANGS)
    assert _fields(entry["en"]) == _fields(entry["zh"])


@pytest.mark.parametrize(
    ("locale", "expected"),
    [
        ("zh-CN", "zh"),
        ("zh-TW", "zh"),
        ("en-US", "en"),
        ("en-GB", "en"),
        ("ja-JP", "en"),
        (None, "en"),
        ("", "en"),
    ],
)
def test_language_from_slack_locale(locale: str | None, expected: str) -> None:
    assert lang_from_locale(locale) == expected


def test_unknown_locale_falls_back_to_the_configured_default() -> None:
    assert lang_from_locale("ja-JP", "zh") == "zh"


def test_glm_errors_speak_both_languages() -> None:
    err = error_for("1302")
    assert isinstance(err, GLMRateLimited)
    assert err.user_message_in("en") == err.user_message
    assert err.user_message_in("zh") == "GLM 错误 1302：当前请求过多，请稍后再试"
    assert t("too_long", "zh", length=9000, limit=8000).startswith(":warning: 这条消息有 9,000")
