"""Where the bot may send the Slack token, and where it may fetch assistant outputs (pure).

Two allow-lists, both by scheme, host and port, never by substring:

* the bot token goes only to Slack's file hosts (``files.slack.com``, ``*.slack.com``, https)
  and to the origin of ``SLACK_API_BASE_URL`` (a proxy or a test double);
* assistant outputs are fetched only from ``GLM_FILE_HOSTS`` (https) and the origin of
  ``ZHIPUAI_BASE_URL`` — a model cannot make the bot fetch an internal URL (no SSRF).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

DEFAULT_GLM_FILE_HOSTS = ("sfile.chatglm.cn",)
SLACK_FILE_HOSTS = ("files.slack.com", "*.slack.com")


@dataclass(frozen=True, slots=True)
class Origin:
    scheme: str
    host: str
    port: int


def origin(url: str) -> Origin | None:
    """``scheme://host:port`` of an absolute http(s) URL without credentials, else None."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname or parts.username or parts.password:
        return None
    return Origin(scheme, parts.hostname.lower(), port or (443 if scheme == "https" else 80))


@dataclass(frozen=True, slots=True)
class HostPolicy:
    """Hostnames (``name`` or ``*.suffix``) reachable over https on 443, plus exact origins."""

    hosts: tuple[str, ...]
    origins: tuple[Origin, ...] = ()

    @classmethod
    def build(cls, hosts: tuple[str, ...], base_urls: tuple[str, ...]) -> HostPolicy:
        names = tuple(h.strip().lower().rstrip(".") for h in hosts if h.strip())
        origins = tuple(o for o in (origin(u) for u in base_urls) if o is not None)
        return cls(names, origins)

    def allows(self, url: str) -> bool:
        o = origin(url)
        if o is None:
            return False
        if o in self.origins:
            return True
        if o.scheme != "https" or o.port != 443:
            return False
        return any(_host_matches(o.host, pattern) for pattern in self.hosts)


def _host_matches(host: str, pattern: str) -> bool:
    if pattern.startswith("*."):
        suffix = pattern[1:]  # ".slack.com"
        return host.endswith(suffix) and len(host) > len(suffix)
    return host == pattern


def parse_hosts(raw: str | None) -> tuple[str, ...]:
    """``"a.example, b.example"`` → hostnames; URLs are reduced to their host."""
    out: list[str] = []
    for part in (raw or "").replace(",", " ").split():
        if "://" in part:
            o = origin(part)
            if o is not None:
                out.append(o.host)
        else:
            out.append(part.lower())
    return tuple(out)
