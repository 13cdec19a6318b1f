"""Who a request or a background job acts for: the scope every Slack Web API call is made in.

In OAuth mode one process serves many workspaces, so a Slack call must carry the token of the
workspace the work belongs to and no other. The scope is set where the work enters (Bolt's
authorisation for a request, the job itself for background work) and read by
:class:`bot.oauth.client.WorkspaceWebClient` at each call. A context variable carries it
through the turn, so the turn's code (and the reply strategies other work keeps changing) need
not pass a client around; asyncio copies it into every task the turn starts.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from dataclasses import dataclass

from slack_sdk.errors import SlackRequestError


class NoWorkspaceInScope(SlackRequestError):
    """A Slack call outside any workspace's scope: a bug, refused rather than mis-sent."""


class WorkspaceNotInstalled(SlackRequestError):
    """The workspace in scope has no usable token (uninstalled, revoked, expired)."""


@dataclass(frozen=True, slots=True)
class Workspace:
    """An installation's key: a workspace, or a Grid org for an org-wide install.

    ``team_id`` is the workspace the work happens in (also inside an org install)."""

    team_id: str | None
    enterprise_id: str | None = None
    is_enterprise_install: bool = False

    @property
    def key(self) -> str:
        """Stable text key (locks, caches, logs): the org for org installs, else the team."""
        if self.is_enterprise_install:
            return f"E:{self.enterprise_id}"
        return f"T:{self.enterprise_id or '-'}:{self.team_id}"

    @property
    def install_team_id(self) -> str | None:
        """The team the installation is stored under (None for an org-wide install)."""
        return None if self.is_enterprise_install else self.team_id


@dataclass(frozen=True, slots=True)
class SlackAccess:
    """The workspace in scope and the bot's identity there (from its installation)."""

    workspace: Workspace
    bot_user_id: str | None = None
    bot_id: str | None = None
    # The Grid org's name as Slack gave it at install (oauth.v2.access), for people to read;
    # None outside Grid or when Slack named none.
    enterprise_name: str | None = None


_CURRENT: contextvars.ContextVar[SlackAccess | None] = contextvars.ContextVar(
    "slack_access", default=None
)


def current_access() -> SlackAccess | None:
    return _CURRENT.get()


def current_bot_user_id() -> str | None:
    access = _CURRENT.get()
    return access.bot_user_id if access is not None else None


def enter(access: SlackAccess | None) -> None:
    """Set the scope for the rest of this task (and tasks it creates)."""
    _CURRENT.set(access)


@contextlib.contextmanager
def scope(access: SlackAccess | None) -> Iterator[None]:
    token = _CURRENT.set(access)
    try:
        yield
    finally:
        _CURRENT.reset(token)
