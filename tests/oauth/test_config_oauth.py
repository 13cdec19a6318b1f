"""OAuth mode in the settings: chosen by client credentials, conflicts and gaps named."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bot.config import ConfigError, Settings, load_settings
from bot.oauth.crypto import generate_key

KEY = generate_key()
OAUTH = {
    "slack_client_id": "1111.2222",
    "slack_client_secret": "client-secret-abcdef",
    "slack_signing_secret": "signing-secret-abcdef",
    "slack_token_encryption_key": KEY,
    "zhipuai_api_key": "glm-key.secret-abcdef",
}


@pytest.fixture(autouse=True)
def isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    fields = set(Settings.model_fields)
    for var in list(os.environ):
        if var.lower() in fields or var.startswith(("SLACK_", "ZHIPUAI_", "GLM_")):
            monkeypatch.delenv(var, raising=False)
    monkeypatch.chdir(tmp_path)


def message_of(**overrides: object) -> str:
    with pytest.raises(ConfigError) as info:
        load_settings(**overrides)
    return str(info.value)


def test_client_credentials_without_a_bot_token_is_oauth_mode() -> None:
    settings = load_settings(**OAUTH)
    assert settings.oauth_mode
    assert KEY in settings.secrets() and "client-secret-abcdef" in settings.secrets()
    assert not load_settings(
        slack_bot_token="xoxb-1", slack_signing_secret="s", zhipuai_api_key="k"
    ).oauth_mode


def test_both_a_bot_token_and_client_credentials_say_which_to_drop() -> None:
    message = message_of(**OAUTH, slack_bot_token="xoxb-secret-token-123")
    assert "drop SLACK_BOT_TOKEN" in message and "drop SLACK_CLIENT_ID" in message
    assert "xoxb-secret-token-123" not in message and "client-secret-abcdef" not in message


def test_missing_oauth_pieces_are_named_in_one_line() -> None:
    message = message_of(slack_client_id="1111.2222")
    assert message == (
        "missing required settings: SLACK_CLIENT_SECRET, SLACK_TOKEN_ENCRYPTION_KEY, "
        "ZHIPUAI_API_KEY, SLACK_SIGNING_SECRET (or SLACK_APP_TOKEN for Socket Mode)"
    )
    assert "SLACK_BOT_TOKEN" not in message


def test_the_encryption_key_is_required_and_checked_without_being_echoed() -> None:
    without = {k: v for k, v in OAUTH.items() if k != "slack_token_encryption_key"}
    assert message_of(**without) == "missing required settings: SLACK_TOKEN_ENCRYPTION_KEY"
    bad = message_of(**{**OAUTH, "slack_token_encryption_key": f"{KEY},not-a-key-at-all"})
    assert "key 2 of 2 is not a Fernet key" in bad and "not-a-key-at-all" not in bad
    assert load_settings(**{**OAUTH, "slack_token_encryption_key": f"{generate_key()}, {KEY}"})
