"""Files in: typed Slack file objects, which are read, and whether bytes are what they claim."""

from __future__ import annotations

from typing import Any

import pytest

from bot.files.model import FileKind, parse_file, parse_files
from bot.files.policy import (
    MB,
    FileLimits,
    Mismatch,
    Refusal,
    SizeGuard,
    TooBig,
    check_head,
    decide,
    image_type,
    looks_like_html,
)
from bot.slack.payloads import MessageEvent
from bot.slack.routing import route_mention, route_message


def raw(name: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": "F0" + str(abs(hash(name)) % 10**8),
        "name": name,
        "mimetype": "application/octet-stream",
        "filetype": name.rsplit(".", 1)[-1],
        "size": 10,
        "url_private": f"https://files.slack.com/files-pri/T1-F1/{name}",
        "url_private_download": f"https://files.slack.com/files-pri/T1-F1/download/{name}",
        "mode": "hosted",
        **extra,
    }


@pytest.mark.parametrize(
    ("name", "filetype", "kind"),
    [
        ("shot.PNG", "png", FileKind.IMAGE),
        ("photo.jpeg", "jpg", FileKind.IMAGE),
        ("anim.gif", "gif", FileKind.IMAGE),
        ("x.webp", "webp", FileKind.IMAGE),
        ("revenue.csv", "csv", FileKind.DOCUMENT),
        ("paper.pdf", "pdf", FileKind.DOCUMENT),
        ("deck.pptx", "pptx", FileKind.DOCUMENT),
        ("notes", "text", FileKind.DOCUMENT),  # no extension: Slack's filetype decides
        ("README", "markdown", FileKind.DOCUMENT),
        ("setup.exe", "binary", FileKind.UNSUPPORTED),
        ("song.mp3", "mp3", FileKind.UNSUPPORTED),
    ],
)
def test_kind_from_name_then_slack_filetype(name: str, filetype: str, kind: FileKind) -> None:
    f = parse_file(raw(name, filetype=filetype))
    assert f is not None and f.kind is kind


def test_download_url_is_preferred_and_bad_objects_are_dropped() -> None:
    f = parse_file(raw("a.csv"))
    assert f is not None and f.url is not None and "/download/" in f.url
    assert parse_file(raw("a.csv", id="not-an-id")) is None
    assert parse_file(raw("a.csv", mode="tombstone")) is None
    assert parse_file(raw("a.csv", mode="external")) is None
    assert parse_file("F123") is None
    odd = parse_file(raw("a.csv", size="big", url_private="javascript:x", url_private_download=1))
    assert odd is not None and odd.size is None and odd.url is None
    same = raw("a.csv")
    assert len(parse_files([same, same, 3, None])) == 1
    assert parse_files("nope") == ()
    assert len(parse_files([raw(f"{i}.csv", id=f"F{i:04d}") for i in range(50)])) == 20


def test_names_cannot_break_the_notice_markup() -> None:
    f = parse_file(raw("evil`name\n<!channel>.csv"))
    assert f is not None and "`" not in f.name and "\n" not in f.name


def test_routes_carry_the_files_of_the_message() -> None:
    files = [raw("a.png"), raw("b.csv")]
    event = {
        "type": "message",
        "subtype": "file_share",
        "user": "U001",
        "channel": "D001",
        "channel_type": "im",
        "ts": "1.0",
        "text": "",
        "files": files,
    }
    route = route_message(MessageEvent.model_validate(event), bot_user_id="UBOT", team_id="T001")
    assert route is not None and [f.name for f in route.files] == ["a.png", "b.csv"]
    mention = {
        "type": "app_mention",
        "user": "U001",
        "channel": "C001",
        "ts": "2.0",
        "text": "<@UBOT> chart",
        "files": files[1:],
    }
    routed = route_mention(MessageEvent.model_validate(mention), bot_user_id="UBOT", team_id="T001")
    assert routed is not None and [f.name for f in routed.files] == ["b.csv"]


LIMITS = FileLimits(max_file_bytes=20 * MB, max_image_bytes=5 * MB, max_files_per_conversation=3)


def test_decide_checks_type_then_declared_size_then_the_threads_budget() -> None:
    files = parse_files(
        [
            raw("a.exe"),
            raw("big.png", size=6 * MB),
            raw("big.pdf", size=21 * MB),
            raw("ok.png", size=5 * MB),
            raw("ok.csv"),
            raw("third.txt"),
            raw("again.csv", id="FKNOWN"),
        ]
    )
    decisions = decide(files, limits=LIMITS, known_ids=frozenset({"FKNOWN"}), stored=1)
    assert [d.refusal for d in decisions] == [
        Refusal.UNSUPPORTED,
        Refusal.IMAGE_TOO_BIG,
        Refusal.TOO_BIG,
        None,
        None,
        Refusal.TOO_MANY,  # 1 stored + 2 new = 3
        None,  # already in the thread: not counted again
    ]
    assert decisions[-1].known


def test_size_guard_stops_at_the_cap_whatever_was_declared() -> None:
    guard = SizeGuard(cap=10)
    guard.add(10)
    with pytest.raises(TooBig):
        guard.add(1)


SIGN_IN = b"<!DOCTYPE html><html><head><title>Slack</title>"


@pytest.mark.parametrize(
    ("ext", "ctype", "head", "refusal"),
    [
        ("pdf", "text/html; charset=utf-8", b"%PDF-1.4", Refusal.NEEDS_SCOPE),
        ("csv", "application/octet-stream", b"\n  " + SIGN_IN, Refusal.NEEDS_SCOPE),
        ("png", "image/png", b"GIF89a....", Refusal.NOT_WHAT_IT_SAYS),
        ("pdf", "application/pdf", b"PK\x03\x04", Refusal.NOT_WHAT_IT_SAYS),
        ("webp", "image/webp", b"RIFF\x00\x00\x00\x00WAVE", Refusal.NOT_WHAT_IT_SAYS),
        ("txt", "text/plain", b"ab\x00cd", Refusal.NOT_WHAT_IT_SAYS),
        ("png", "image/png", b"\x89PNG\r\n\x1a\n....", None),
        ("webp", "image/webp", b"RIFF\x00\x00\x00\x00WEBPVP8 ", None),
        ("xlsx", "application/vnd.ms-excel", b"PK\x03\x04...", None),
        ("csv", "text/csv", b"a,b\n1,2\n", None),
    ],
)
def test_first_bytes_decide(ext: str, ctype: str, head: bytes, refusal: Refusal | None) -> None:
    if refusal is None:
        check_head(ext, ctype, head)
        return
    with pytest.raises(Mismatch) as caught:
        check_head(ext, ctype, head)
    assert caught.value.refusal is refusal


def test_html_and_image_sniffing() -> None:
    assert looks_like_html("TEXT/HTML", b"")
    assert not looks_like_html("text/plain", b"<table>")
    assert image_type(b"\xff\xd8\xff\xe0") == "image/jpeg"
    assert image_type(b"GIF87a") == "image/gif"
    assert image_type(b"%PDF") is None


def test_a_file_without_any_url_is_refused_before_anything_else() -> None:
    (f,) = parse_files([raw("a.csv", url_private=None, url_private_download=None)])
    (decision,) = decide((f,), limits=LIMITS, known_ids=frozenset(), stored=0)
    assert decision.refusal is Refusal.DOWNLOAD_FAILED
