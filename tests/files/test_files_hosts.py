"""The two allow-lists: where the bot token may go, and where assistant outputs may come from."""

from __future__ import annotations

import pytest

from bot.files.hosts import SLACK_FILE_HOSTS, HostPolicy, origin, parse_hosts
from bot.files.outbound import file_name

TOKEN = HostPolicy.build(SLACK_FILE_HOSTS, ("http://127.0.0.1:8080/api/",))
OUTPUTS = HostPolicy.build(
    parse_hosts("sfile.chatglm.cn, https://cdn.example.org/x"),
    ("https://open.bigmodel.cn/api/paas/v4",),
)


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("https://files.slack.com/files-pri/T1-F1/a.png", True),
        ("https://slack-files.slack.com/x", True),
        ("https://slack.com/x", False),  # *.slack.com means a subdomain
        ("http://files.slack.com/x", False),  # the token never goes in clear text
        ("https://files.slack.com:8443/x", False),
        ("https://files.slack.com.evil.io/x", False),
        ("https://evilslack.com/x", False),
        ("https://user:pw@files.slack.com/x", False),
        ("http://127.0.0.1:8080/files-pri/x", True),  # SLACK_API_BASE_URL's origin
        ("http://127.0.0.1:8081/files-pri/x", False),
        ("https://127.0.0.1:8080/x", False),
        ("ftp://files.slack.com/x", False),
        ("files.slack.com/x", False),
        ("https://[::1/x", False),
    ],
)
def test_token_hosts(url: str, allowed: bool) -> None:
    assert TOKEN.allows(url) is allowed


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("https://sfile.chatglm.cn/testpath/a.png", True),
        ("https://SFILE.chatglm.cn/testpath/a.png", True),
        ("https://cdn.example.org/x.pptx", True),
        ("https://open.bigmodel.cn/api/paas/v4/files/1/content", True),
        ("http://sfile.chatglm.cn/a.png", False),
        ("https://sfile.chatglm.cn.attacker.net/a.png", False),
        ("http://169.254.169.254/latest/meta-data/", False),
        ("http://localhost:6379/", False),
        ("https://10.0.0.1/a.png", False),
    ],
)
def test_output_hosts(url: str, allowed: bool) -> None:
    assert OUTPUTS.allows(url) is allowed


def test_origin_and_names() -> None:
    assert origin("https://a.example/x") is not None
    assert origin("https://a.example:99999/") is None
    assert parse_hosts("") == ()
    assert file_name("https://sfile.chatglm.cn/markmap/f820%20b1.png?x=1", image=True) == (
        "f820_b1.png"
    )
    assert file_name("https://sfile.chatglm.cn/", image=True) == "image.png"
    assert file_name("https://h/../../etc/passwd", image=False) == "passwd"
