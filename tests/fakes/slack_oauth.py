"""Distribution by OAuth in the fake Slack: installable workspaces and Grid orgs, one-time
codes, per-workspace bot tokens (rotating ones too), revocation.

What Slack does, and where it says so:

* ``oauth.v2.access`` (https://docs.slack.dev/reference/methods/oauth.v2.access): a
  form-encoded POST; the client authenticates with ``client_id``/``client_secret`` form fields
  *or* HTTP Basic. ``code`` exchanges an authorisation code (each works once: ``invalid_code``
  after); ``grant_type=refresh_token`` + ``refresh_token`` exchanges a refresh token (each works
  once: ``invalid_refresh_token`` after). Errors ``invalid_client_id``, ``bad_client_secret``.
  The answer: ``{ok, app_id, access_token, token_type: "bot", scope, bot_user_id, team, enterprise,
  is_enterprise_install, authed_user}``, plus ``refresh_token`` and ``expires_in`` (43,200 s)
  when token rotation is on (https://docs.slack.dev/authentication/using-token-rotation).
* Org-wide installs (https://docs.slack.dev/enterprise-grid/): ``team`` is null, ``enterprise``
  set, ``is_enterprise_install: true``; the token works in every workspace of the org.
* A token works only in its workspace: another workspace's channel is ``channel_not_found``
  (Slack does not reveal other workspaces' channels). A revoked token answers ``token_revoked``,
  an expired rotating one ``token_expired`` (https://docs.slack.dev/reference/methods/auth.test,
  errors). ``auth.test`` answers for the token's own bot, team and org.
* ``auth.revoke`` (https://docs.slack.dev/reference/methods/auth.revoke) revokes the token used.

To make an exchange fail without spending the code or refresh token, use ``FakeSlack.fail`` with
``when=refreshing`` or ``when=exchanging_code``. A refresh token Slack no longer honours (used,
revoked, or the app's rotation reset) gets HTTP 200 with ``{"ok": false, "error":
"invalid_refresh_token"}``; a refused code gets HTTP 200 with ``{"ok": false, "error":
"invalid_code"}``; an outage is a 5xx (``status=500``).
"""

from __future__ import annotations

import base64
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote_plus

JSON = dict[str, Any]
TOKEN_LIFETIME = 43_200  # seconds: Slack's rotating tokens last 12 hours


@dataclass(slots=True)
class Target:
    """What an install is into: a workspace, or a Grid org (``team_id`` None)."""

    team_id: str | None
    name: str
    enterprise_id: str | None = None
    enterprise_name: str | None = None
    bot_user_id: str = "UBOT"
    bot_id: str = "BBOT"
    teams: set[str] = field(default_factory=set)  # workspaces the token works in

    @property
    def org_install(self) -> bool:
        return self.team_id is None


@dataclass(slots=True)
class Issued:
    token: str
    target: Target
    expires_at: float | None
    revoked: bool = False


class SlackOAuthMixin:
    """Mixed into ``FakeSlack``; call :meth:`_init_oauth` from its constructor."""

    app_id: str

    def _init_oauth(self) -> None:
        self.client_id = "1111111111.2222222222"
        self.client_secret = "fake-client-secret-0123456789abcdef"
        self.targets: dict[str, Target] = {}
        self.issued: dict[str, Issued] = {}
        self.channel_teams: dict[str, str] = {}
        self.oauth_clock: Callable[[], float] = time.time
        self.token_lifetime = TOKEN_LIFETIME
        self._codes: dict[str, tuple[Target, str, bool]] = {}
        self._refresh_tokens: dict[str, Target] = {}
        self.used_refresh_tokens: list[str] = []

    # -- seeding ---------------------------------------------------------------------------
    def add_workspace(
        self,
        team_id: str,
        name: str,
        *,
        channels: tuple[str, ...] = (),
        enterprise_id: str | None = None,
        bot_user_id: str | None = None,
        bot_id: str | None = None,
    ) -> Target:
        target = Target(
            team_id=team_id,
            name=name,
            enterprise_id=enterprise_id,
            bot_user_id=bot_user_id or f"UB{team_id}",
            bot_id=bot_id or f"BB{team_id}",
            teams={team_id},
        )
        self.targets[team_id] = target
        for channel in channels:
            self.channel_teams[channel] = team_id
            self.add_channel(channel)  # type: ignore[attr-defined]
        return target

    def add_org(
        self, enterprise_id: str, name: str, *, teams: dict[str, tuple[str, ...]]
    ) -> Target:
        """A Grid org installed org-wide: one bot token for all its workspaces."""
        target = Target(
            team_id=None,
            name=name,
            enterprise_id=enterprise_id,
            enterprise_name=name,
            bot_user_id=f"UB{enterprise_id}",
            bot_id=f"BB{enterprise_id}",
            teams=set(teams),
        )
        self.targets[enterprise_id] = target
        for team, channels in teams.items():
            for channel in channels:
                self.channel_teams[channel] = team
                self.add_channel(channel)  # type: ignore[attr-defined]
        return target

    def authorize_code(self, target_id: str, *, user: str = "U0001", rotation: bool = False) -> str:
        """What slack.com/oauth/v2/authorize redirects with once a person approves."""
        code = f"{secrets.randbelow(10**12)}.{secrets.token_hex(16)}"
        self._codes[code] = (self.targets[target_id], user, rotation)
        return code

    def revoke(self, target_id: str) -> list[str]:
        """Revoke every token of a workspace or org (as an uninstall does); returns them."""
        target = self.targets[target_id]
        gone = [i.token for i in self.issued.values() if i.target is target and not i.revoked]
        for token in gone:
            self.issued[token].revoked = True
        return gone

    def tokens_of(self, target_id: str) -> list[Issued]:
        target = self.targets[target_id]
        return [i for i in self.issued.values() if i.target is target]

    # -- the methods -------------------------------------------------------------------------
    def _oauth_access(self, args: JSON, headers: Any) -> JSON:
        client_id, client_secret = _client_auth(args, headers)
        if client_id != self.client_id:
            return {"ok": False, "error": "invalid_client_id"}
        if client_secret != self.client_secret:
            return {"ok": False, "error": "bad_client_secret"}
        if args.get("grant_type") == "refresh_token":
            refresh = str(args.get("refresh_token") or "")
            target = self._refresh_tokens.pop(refresh, None)
            self.used_refresh_tokens.append(refresh)
            if target is None:
                return {"ok": False, "error": "invalid_refresh_token"}
            return self._grant(target, user=None, rotation=True)
        found = self._codes.pop(str(args.get("code") or ""), None)
        if found is None:
            return {"ok": False, "error": "invalid_code"}
        target, user, rotation = found
        return self._grant(target, user=user, rotation=rotation)

    def _grant(self, target: Target, *, user: str | None, rotation: bool) -> JSON:
        prefix = "xoxe.xoxb-1-" if rotation else "xoxb-"
        token = prefix + secrets.token_hex(24)
        expires_at = self.oauth_clock() + self.token_lifetime if rotation else None
        self.issued[token] = Issued(token, target, expires_at)
        body: JSON = {
            "ok": True,
            "app_id": self.app_id,
            "access_token": token,
            "token_type": "bot",
            "scope": "app_mentions:read,chat:write,commands",
            "bot_user_id": target.bot_user_id,
            "team": None if target.org_install else {"id": target.team_id, "name": target.name},
            "enterprise": (
                {"id": target.enterprise_id, "name": target.enterprise_name or target.name}
                if target.enterprise_id
                else None
            ),
            "is_enterprise_install": target.org_install,
            "authed_user": {"id": user or "U0001"},
        }
        if rotation:
            refresh = "xoxe-1-" + secrets.token_hex(24)
            self._refresh_tokens[refresh] = target
            body["refresh_token"] = refresh
            body["expires_in"] = self.token_lifetime
        return body

    def _issued_problem(self, method: str, issued: Issued, args: JSON) -> str | None:
        if issued.revoked:
            return "token_revoked"
        if issued.expires_at is not None and issued.expires_at <= self.oauth_clock():
            return "token_expired"
        channel = args.get("channel") or args.get("channel_id")
        mine = self.channel_teams.get(channel) in issued.target.teams if channel else True
        if isinstance(channel, str) and not mine:
            return "channel_not_found"
        return None

    def _issued_auth_test(self, issued: Issued) -> JSON:
        target = issued.target
        team = target.team_id or (sorted(target.teams)[0] if target.teams else None)
        return {
            "ok": True,
            "url": f"https://{(target.name or 'x').lower()}.slack.com/",
            "team": target.name,
            "user": "glm",
            "team_id": team,
            "user_id": target.bot_user_id,
            "bot_id": target.bot_id,
            "enterprise_id": target.enterprise_id,
            "is_enterprise_install": target.org_install,
        }


def refreshing(args: JSON) -> bool:
    """``oauth.v2.access`` exchanging a refresh token (``when=`` of ``FakeSlack.fail``)."""
    return args.get("grant_type") == "refresh_token"


def exchanging_code(args: JSON) -> bool:
    """``oauth.v2.access`` exchanging an authorisation code (``when=`` of ``FakeSlack.fail``)."""
    return args.get("grant_type") != "refresh_token" and "code" in args


def _client_auth(args: JSON, headers: Any) -> tuple[str, str]:
    header = headers.get("Authorization") or ""
    if header.startswith("Basic "):
        try:
            raw = base64.b64decode(header[len("Basic ") :]).decode()
        except ValueError:
            return "", ""
        client_id, _, secret = raw.partition(":")
        return unquote_plus(client_id), unquote_plus(secret)
    return str(args.get("client_id") or ""), str(args.get("client_secret") or "")
