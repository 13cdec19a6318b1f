"""Tests for bot.config: required settings, validation messages, URL normalisation, .env."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bot.config import (
    OFFICIAL_DEFAULT_ASSISTANT,
    ConfigError,
    Settings,
    load_settings,
    normalize_database_url,
)

BOT_TOKEN = "xoxb-bot-token-123456"
GLM_KEY = "glm-key.secret-abcdef"
SIGNING = "signing-secret-abcdef"
APP_TOKEN = "xapp-app-token-123456"
REQUIRED = {
    "slack_bot_token": BOT_TOKEN,
    "zhipuai_api_key": GLM_KEY,
    "slack_signing_secret": SIGNING,
}
MISSING_ALL = (
    "missing required settings: SLACK_BOT_TOKEN, ZHIPUAI_API_KEY, "
    "SLACK_SIGNING_SECRET (or SLACK_APP_TOKEN for Socket Mode)"
)


@pytest.fixture(autouse=True)
def isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No setting from the real environment or a real .env may leak into these tests."""
    fields = set(Settings.model_fields)
    for var in list(os.environ):
        if var.lower() in fields or var.startswith(("SLACK_", "ZHIPUAI_", "GLM_")):
            monkeypatch.delenv(var, raising=False)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def message_of(**overrides: object) -> str:
    with pytest.raises(ConfigError) as info:
        load_settings(**overrides)
    return str(info.value)


# --- required settings ---------------------------------------------------------------------------


def test_nothing_configured_names_every_missing_variable_in_one_line() -> None:
    message = message_of()
    assert message == MISSING_ALL
    assert "\n" not in message


def test_only_the_missing_ones_are_named() -> None:
    assert message_of(zhipuai_api_key=GLM_KEY, slack_signing_secret=SIGNING) == (
        "missing required settings: SLACK_BOT_TOKEN"
    )
    assert message_of(slack_bot_token=BOT_TOKEN, zhipuai_api_key=GLM_KEY) == (
        "missing required settings: SLACK_SIGNING_SECRET (or SLACK_APP_TOKEN for Socket Mode)"
    )


def test_empty_values_count_as_missing() -> None:
    assert message_of(slack_bot_token="", zhipuai_api_key="", slack_signing_secret="") == (
        MISSING_ALL
    )


def test_missing_message_never_contains_given_secrets() -> None:
    message = message_of(slack_bot_token=BOT_TOKEN, slack_signing_secret=SIGNING)
    assert message == "missing required settings: ZHIPUAI_API_KEY"


def test_http_mode_needs_signing_secret() -> None:
    settings = load_settings(**REQUIRED)
    assert settings.socket_mode is False
    assert settings.slack_signing_secret is not None
    assert settings.slack_signing_secret.get_secret_value() == SIGNING


def test_socket_mode_makes_signing_secret_optional() -> None:
    settings = load_settings(
        slack_bot_token=BOT_TOKEN, zhipuai_api_key=GLM_KEY, slack_app_token=APP_TOKEN
    )
    assert settings.socket_mode is True
    assert settings.slack_signing_secret is None


def test_environment_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", BOT_TOKEN)
    monkeypatch.setenv("ZHIPUAI_API_KEY", GLM_KEY)
    monkeypatch.setenv("SLACK_APP_TOKEN", APP_TOKEN)
    monkeypatch.setenv("PORT", "8080")
    settings = load_settings()
    assert settings.socket_mode is True
    assert settings.port == 8080


def test_overrides_beat_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PORT", "8080")
    assert load_settings(**REQUIRED, port=9090).port == 9090


def test_dotenv_in_cwd_is_read(isolated: Path) -> None:
    (isolated / ".env").write_text(
        f"SLACK_BOT_TOKEN={BOT_TOKEN}\nZHIPUAI_API_KEY={GLM_KEY}\nSLACK_SIGNING_SECRET={SIGNING}\n"
        "PORT=4000\nGLM_MODEL=glm-4-alltools\nUNRELATED_VARIABLE=1\n",
        encoding="utf-8",
    )
    settings = load_settings()
    assert settings.slack_bot_token.get_secret_value() == BOT_TOKEN
    assert settings.port == 4000
    assert settings.glm_model == "glm-4-alltools"


def test_environment_beats_dotenv(isolated: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (isolated / ".env").write_text("PORT=4000\n", encoding="utf-8")
    monkeypatch.setenv("PORT", "5000")
    assert load_settings(**REQUIRED).port == 5000


# --- invalid values ------------------------------------------------------------------------------


def test_port_out_of_range() -> None:
    message = message_of(**REQUIRED, port=70000)
    assert message == "PORT: Input should be less than or equal to 65535"
    assert "70000" not in message


def test_unknown_model() -> None:
    message = message_of(**REQUIRED, glm_model="gpt-4o-secretish")
    assert message.startswith("GLM_MODEL: ")
    assert "glm-4-assistant" in message
    assert "gpt-4o-secretish" not in message


def test_bad_assistant_id() -> None:
    message = message_of(**REQUIRED, glm_default_assistant_id="not-a-hex-id-zzzzzzzzzzz")
    assert message == "GLM_DEFAULT_ASSISTANT_ID: must be a 24-character hex assistant_id"


def test_several_invalid_values_in_one_line() -> None:
    message = message_of(**REQUIRED, port=-1, glm_idle_timeout="soon-ish", log_format="xml")
    assert "\n" not in message
    parts = message.split("; ")
    assert [p.split(":")[0] for p in parts] == ["GLM_IDLE_TIMEOUT", "PORT", "LOG_FORMAT"]
    assert "soon-ish" not in message and "xml" not in message


def test_invalid_and_missing_are_reported_together() -> None:
    message = message_of(port=70000)
    assert "PORT" in message
    assert "SLACK_BOT_TOKEN" in message


def test_assistant_id_is_normalised() -> None:
    settings = load_settings(**REQUIRED, glm_default_assistant_id=" 659E54B1B8006379B4B2ABD6 ")
    assert settings.glm_default_assistant_id == "659e54b1b8006379b4b2abd6"
    assert load_settings(**REQUIRED).glm_default_assistant_id == OFFICIAL_DEFAULT_ASSISTANT


# --- URLs ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgres://u:p@h:5432/db", "postgresql+asyncpg://u:p@h:5432/db"),
        ("postgresql://u:p@h/db?sslmode=require", "postgresql+asyncpg://u:p@h/db?sslmode=require"),
        ("postgresql+psycopg2://u@h/db", "postgresql+asyncpg://u@h/db"),
        ("postgresql+psycopg://u@h/db", "postgresql+asyncpg://u@h/db"),
        ("postgresql+asyncpg://u@h/db", "postgresql+asyncpg://u@h/db"),
        ("sqlite:///bot.db", "sqlite+aiosqlite:///bot.db"),
        ("sqlite:////abs/bot.db", "sqlite+aiosqlite:////abs/bot.db"),
        ("sqlite://", "sqlite+aiosqlite://"),
        ("sqlite+aiosqlite:///bot.db", "sqlite+aiosqlite:///bot.db"),
        ("sqlite+pysqlite:///bot.db", "sqlite+pysqlite:///bot.db"),
    ],
)
def test_normalize_database_url(url: str, expected: str) -> None:
    assert normalize_database_url(url) == expected


def test_database_url_setting_is_normalised() -> None:
    settings = load_settings(**REQUIRED, database_url="postgres://u:p@db/bot")
    assert settings.database_url == "postgresql+asyncpg://u:p@db/bot"
    assert load_settings(**REQUIRED).database_url == "sqlite+aiosqlite:///glm_slack_bot.db"


def test_base_url_slashes() -> None:
    settings = load_settings(
        **REQUIRED, slack_api_base_url="http://127.0.0.1:9/api", zhipuai_base_url="http://x/v4//"
    )
    assert settings.slack_api_base_url == "http://127.0.0.1:9/api/"
    assert settings.zhipuai_base_url == "http://x/v4"
    defaults = load_settings(**REQUIRED)
    assert defaults.slack_api_base_url == "https://slack.com/api/"
    assert defaults.zhipuai_base_url == "https://open.bigmodel.cn/api/paas/v4"


# --- secrets -------------------------------------------------------------------------------------


def test_secrets_lists_every_configured_secret() -> None:
    settings = load_settings(**REQUIRED, slack_app_token=APP_TOKEN)
    assert settings.secrets() == [BOT_TOKEN, GLM_KEY, SIGNING, APP_TOKEN]


def test_secrets_skips_unset_ones() -> None:
    settings = load_settings(
        slack_bot_token=BOT_TOKEN, zhipuai_api_key=GLM_KEY, slack_app_token=APP_TOKEN
    )
    assert settings.secrets() == [BOT_TOKEN, GLM_KEY, APP_TOKEN]


def test_repr_hides_secrets() -> None:
    text = repr(load_settings(**REQUIRED))
    assert BOT_TOKEN not in text and GLM_KEY not in text and SIGNING not in text
