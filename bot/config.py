"""Every setting the bot reads, in one place (environment variables or a ``.env`` file)."""

from __future__ import annotations

import base64
import os
from collections.abc import Callable
from typing import Literal

from dotenv import dotenv_values
from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

OFFICIAL_DEFAULT_ASSISTANT = "65940acff94777010aa6b796"


class ConfigError(Exception):
    """The configuration is unusable; the message names every problem and no secret."""


class Settings(BaseSettings):
    """Read once at start; secrets are ``SecretStr`` so they never print by accident."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", case_sensitive=False
    )

    # Slack
    slack_bot_token: SecretStr = SecretStr("")
    slack_signing_secret: SecretStr | None = None
    slack_app_token: SecretStr | None = None
    slack_api_base_url: str = "https://slack.com/api/"
    # Distribution by OAuth (issue 15): client credentials instead of SLACK_BOT_TOKEN.
    slack_client_id: str = ""
    slack_client_secret: SecretStr = SecretStr("")
    slack_token_encryption_key: SecretStr = SecretStr("")
    slack_scopes: str = Field("", description="bot scopes asked at install; default: manifest's")
    slack_redirect_uri: str = Field("", description="public URL of /slack/oauth_redirect")
    slack_token_refresh_minutes: float = Field(
        120.0, gt=0, le=720, description="refresh a rotating bot token this long before expiry"
    )

    # GLM
    zhipuai_api_key: SecretStr = SecretStr("")
    zhipuai_base_url: str = "https://open.bigmodel.cn/api/paas/v4"
    glm_model: Literal["glm-4-assistant", "glm-4-alltools"] = "glm-4-assistant"
    glm_default_assistant_id: str = OFFICIAL_DEFAULT_ASSISTANT
    glm_connect_timeout: float = Field(10.0, gt=0)
    glm_idle_timeout: float = Field(
        90.0, gt=0, description="no byte from GLM for this long (headers included) ends the turn"
    )
    glm_total_timeout: float = Field(
        600.0, gt=0, description="one request in all: retries, headers and stream"
    )
    glm_max_retries: int = Field(3, ge=0, le=10)
    glm_retry_base_delay: float = Field(0.5, ge=0)
    glm_retry_max_delay: float = Field(8.0, ge=0)

    # Files (issue 9): limits from GLM's file rules, wire notes §4
    max_file_mb: float = Field(20.0, gt=0, le=512, description="largest file read or relayed")
    max_image_mb: float = Field(5.0, gt=0, le=64, description="largest image sent inline")
    max_files_per_conversation: int = Field(10, ge=0, le=100)
    glm_file_purpose: str = Field("assistant", min_length=1, max_length=64)
    glm_file_hosts: str = Field(
        "sfile.chatglm.cn", description="hosts assistant outputs may be downloaded from (https)"
    )

    # Storage and serving
    database_url: str = "sqlite+aiosqlite:///glm_slack_bot.db"
    port: int = Field(3000, ge=0, le=65535)
    host: str = "0.0.0.0"

    # Behaviour
    stream_edit_interval: float = Field(1.0, ge=0, description="seconds between edits of one reply")
    stream_mode: Literal["auto", "native", "edit"] = Field(
        "auto", description="native Slack streaming, post-and-edit, or a budget-aware mix"
    )
    slack_edits_per_minute: float = Field(
        50.0, gt=0, description="chat.update budget per workspace"
    )
    slack_edit_burst: float = Field(20.0, ge=1)
    slack_posts_per_second: float = Field(1.0, gt=0, description="chat.postMessage per channel")
    slack_post_burst: float = Field(5.0, ge=1)
    slack_budget_store: Literal["auto", "local", "database"] = Field(
        "auto", description="where Slack rate budgets live: database (shared) on PostgreSQL"
    )
    thread_context_limit: int = Field(
        20, ge=0, le=200, description="earlier thread messages sent when joining a human thread"
    )
    max_input_chars: int = Field(8000, ge=1)
    shutdown_grace_seconds: float = Field(25.0, ge=0)
    stop_poll_seconds: float = Field(
        1.0, gt=0, description="how often Stop clicks received by other instances are checked"
    )
    instance_heartbeat_seconds: float = Field(
        10.0, gt=0, description="replies of an instance silent for 3× this are finalised"
    )
    allowed_team_ids: str = ""
    allowed_channel_ids: str = ""
    allowed_user_ids: str = ""
    refuse_silently_in_channels: bool = True
    agent_admin_user_ids: str = Field(
        "", description="if set, only these users switch agents; they may also stop any answer"
    )
    user_turns_per_window: int = Field(30, ge=0, description="0 disables the per-user limit")
    user_window_seconds: float = Field(600.0, gt=0)
    max_concurrent_streams: int = Field(40, ge=1)
    # Cost and control (issue 16): 0 = unlimited / keep forever.
    monthly_tokens_per_user: int = Field(0, ge=0, description="tokens per person per month")
    monthly_tokens_per_workspace: int = Field(0, ge=0, description="tokens per workspace/month")
    retention_days: int = Field(0, ge=0, le=36500, description="delete older records; 0 keeps")
    glm_assistants: str = Field("", description="custom agents: id=Name, comma separated")
    default_language: Literal["en", "zh"] = "en"
    use_slack_locale: bool = True
    log_level: str = "INFO"
    log_format: Literal["text", "json"] = "text"
    event_loop: Literal["auto", "uvloop", "asyncio"] = Field(
        "auto", description="auto: uvloop where it is installed, else asyncio's own"
    )

    @field_validator("slack_api_base_url")
    @classmethod
    def _slash(cls, v: str) -> str:
        return v if v.endswith("/") else v + "/"

    @field_validator("zhipuai_base_url")
    @classmethod
    def _no_slash(cls, v: str) -> str:
        return v.rstrip("/")

    @field_validator("glm_default_assistant_id")
    @classmethod
    def _hex_id(cls, v: str) -> str:
        v = v.strip().lower()
        if len(v) != 24 or any(c not in "0123456789abcdef" for c in v):
            raise ValueError("must be a 24-character hex assistant_id")
        return v

    @field_validator("glm_assistants")
    @classmethod
    def _custom_agents(cls, v: str) -> str:
        from bot.agents import parse_custom_agents

        parse_custom_agents(v)  # fail at start, not at the first /glm-agent
        return v

    @field_validator("database_url")
    @classmethod
    def _async_driver(cls, v: str) -> str:
        return normalize_database_url(v)

    @model_validator(mode="after")
    def _required(self) -> Settings:
        conflict = _mode_conflict(
            bot_token=_secret(self.slack_bot_token),
            client_id=bool(self.slack_client_id),
            client_secret=_secret(self.slack_client_secret),
        )
        if conflict:
            raise ValueError(conflict)
        missing = _missing_names(given=lambda name: _given_value(self, name), oauth=self.oauth_mode)
        if missing:
            raise ValueError(_MISSING + ", ".join(missing))
        if self.oauth_mode:
            problem = encryption_key_problem(self.slack_token_encryption_key.get_secret_value())
            if problem:
                raise ValueError(f"SLACK_TOKEN_ENCRYPTION_KEY: {problem}")
        if self.slack_budget_store == "database" and not self.database_url.startswith("postgres"):
            raise ValueError("SLACK_BUDGET_STORE=database needs a PostgreSQL DATABASE_URL")
        return self

    @property
    def socket_mode(self) -> bool:
        return _secret(self.slack_app_token)

    @property
    def oauth_mode(self) -> bool:
        """Installed by OAuth into any number of workspaces (client credentials, no bot token)."""
        return not _secret(self.slack_bot_token) and (
            bool(self.slack_client_id) or _secret(self.slack_client_secret)
        )

    def secrets(self) -> list[str]:
        """The secret values, for log redaction."""
        out = [self.slack_bot_token, self.zhipuai_api_key, self.slack_signing_secret]
        out.append(self.slack_app_token)
        out.append(self.slack_client_secret)
        values = [s.get_secret_value() for s in out if s is not None and s.get_secret_value()]
        keys = self.slack_token_encryption_key.get_secret_value()
        return values + [k.strip() for k in keys.split(",") if k.strip()]


def _secret(s: SecretStr | None) -> bool:
    return s is not None and bool(s.get_secret_value())


def _given_value(settings: Settings, name: str) -> bool:
    value = getattr(settings, name.lower())
    return _secret(value) if isinstance(value, SecretStr | None) else bool(value)


def _mode_conflict(*, bot_token: bool, client_id: bool, client_secret: bool) -> str | None:
    """Both ways of reaching Slack at once: say which to drop (never guess)."""
    if bot_token and (client_id or client_secret):
        return (
            "SLACK_BOT_TOKEN and SLACK_CLIENT_ID/SLACK_CLIENT_SECRET are both set: drop "
            "SLACK_BOT_TOKEN to install by OAuth into any number of workspaces, or drop "
            "SLACK_CLIENT_ID and SLACK_CLIENT_SECRET to serve the one workspace of the token"
        )
    return None


def _missing_names(*, given: Callable[[str], bool], oauth: bool) -> list[str]:
    """The required settings not given, for the mode the given ones select."""
    names = (
        ("SLACK_CLIENT_ID", "SLACK_CLIENT_SECRET", "SLACK_TOKEN_ENCRYPTION_KEY")
        if oauth
        else ("SLACK_BOT_TOKEN",)
    )
    missing = [n for n in (*names, "ZHIPUAI_API_KEY") if not given(n)]
    if not given("SLACK_APP_TOKEN") and not given("SLACK_SIGNING_SECRET"):
        missing.append("SLACK_SIGNING_SECRET (or SLACK_APP_TOKEN for Socket Mode)")
    return missing


def encryption_key_problem(value: str) -> str | None:
    """Why SLACK_TOKEN_ENCRYPTION_KEY cannot be used (comma-separated Fernet keys), or None.

    Never echoes the value: it is a secret."""
    keys = [k.strip() for k in value.split(",") if k.strip()]
    if not keys:
        return "empty (python -m bot keygen prints a new key)"
    for i, key in enumerate(keys, 1):
        try:
            raw = base64.urlsafe_b64decode(key.encode("ascii"))
        except (ValueError, UnicodeEncodeError):
            raw = b""
        if len(raw) != 32:
            return (
                f"key {i} of {len(keys)} is not a Fernet key (32 url-safe base64 bytes; "
                "python -m bot keygen prints one)"
            )
    return None


def normalize_database_url(url: str) -> str:
    """Accept Heroku-style ``postgres://`` URLs and plain driver names; always async drivers."""
    for prefix in (
        "postgres://",
        "postgresql://",
        "postgresql+psycopg2://",
        "postgresql+psycopg://",
    ):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix) :]
    if url.startswith("sqlite://") and not url.startswith("sqlite+"):
        return "sqlite+aiosqlite://" + url[len("sqlite://") :]
    return url


_MISSING = "missing required settings: "


def _missing_required(overrides: dict[str, object]) -> list[str]:
    """The required settings absent from overrides, the environment and ``.env``."""
    dotenv = {k.upper(): v for k, v in dotenv_values(".env").items() if v}

    def given(name: str) -> bool:
        return bool(overrides.get(name.lower()) or os.environ.get(name) or dotenv.get(name))

    oauth = not given("SLACK_BOT_TOKEN") and (
        given("SLACK_CLIENT_ID") or given("SLACK_CLIENT_SECRET")
    )
    return _missing_names(given=given, oauth=oauth)


def load_settings(**overrides: object) -> Settings:
    """Build settings, or raise ConfigError with one line naming every missing/invalid one."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        parts: list[str] = []
        if not any(err["loc"] == () for err in exc.errors()):
            # Field errors stop pydantic before the "missing" check: report those too.
            missing = _missing_required(overrides)
            if missing:
                parts.append(_MISSING + ", ".join(missing))
        for err in exc.errors():
            msg = str(err["msg"]).removeprefix("Value error, ")
            if err["loc"]:
                # Never echo the rejected input: it may be a secret.
                parts.append(f"{str(err['loc'][0]).upper()}: {msg}")
            else:
                parts.append(msg)
        raise ConfigError("; ".join(parts)) from None


__all__ = ["ConfigError", "Settings", "load_settings", "normalize_database_url"]
