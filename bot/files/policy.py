"""Which shared files are read, and whether downloaded bytes are what they claim (pure).

Limits follow GLM's file rules (wire notes §4: 20 MB per file, 10 files per conversation,
images ≤ 5 MB) and are checked twice: here on the size Slack *declares*, and again by the
download while the bytes stream (:class:`SizeGuard`), because a declared size is not proof.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from bot.files.model import FileKind, SlackFile

MB = 1024 * 1024


class Refusal(StrEnum):
    """Why a file was not given to the model; each has a line in :mod:`bot.texts`."""

    UNSUPPORTED = "file_unsupported"
    TOO_BIG = "file_too_big"
    IMAGE_TOO_BIG = "file_image_too_big"
    TOO_MANY = "file_too_many"
    NOT_ON_SLACK = "file_not_on_slack"
    NEEDS_SCOPE = "file_needs_scope"
    NOT_WHAT_IT_SAYS = "file_corrupt"
    DOWNLOAD_FAILED = "file_download_failed"
    UPLOAD_FAILED = "file_upload_failed"
    PURPOSE_REFUSED = "file_purpose_refused"


@dataclass(frozen=True, slots=True)
class FileLimits:
    max_file_bytes: int = 20 * MB
    max_image_bytes: int = 5 * MB
    max_files_per_conversation: int = 10

    def cap(self, kind: FileKind) -> int:
        """Most bytes a file of this kind may have."""
        if kind is FileKind.IMAGE:
            return min(self.max_image_bytes, self.max_file_bytes)
        return self.max_file_bytes


@dataclass(frozen=True, slots=True)
class Decision:
    file: SlackFile
    refusal: Refusal | None = None
    known: bool = False  # already in this thread: reuse its GLM file, count it once

    @property
    def accepted(self) -> bool:
        return self.refusal is None


def decide(
    files: tuple[SlackFile, ...],
    *,
    limits: FileLimits,
    known_ids: frozenset[str],
    stored: int,
) -> list[Decision]:
    """Accept or refuse each file, in order, before any byte is downloaded.

    ``stored`` is how many files the thread already remembers; files it already has (by Slack
    id) are accepted without counting again. Type first, then size, then the thread's budget.
    """
    out: list[Decision] = []
    used = stored
    for f in files:
        if f.id in known_ids:
            out.append(Decision(f, known=True))
            continue
        kind = f.kind
        if f.url is None:
            out.append(Decision(f, Refusal.DOWNLOAD_FAILED))  # no URL even after files.info
        elif kind is FileKind.UNSUPPORTED:
            out.append(Decision(f, Refusal.UNSUPPORTED))
        elif f.size is not None and f.size > limits.cap(kind):
            too_big = Refusal.IMAGE_TOO_BIG if kind is FileKind.IMAGE else Refusal.TOO_BIG
            out.append(Decision(f, too_big))
        elif used >= limits.max_files_per_conversation:
            out.append(Decision(f, Refusal.TOO_MANY))
        else:
            used += 1
            out.append(Decision(f, None))
    return out


class TooBig(Exception):
    """More bytes arrived than the file's cap allows."""


class Mismatch(Exception):
    """The bytes are not what the file claims to be; ``refusal`` says how to report it."""

    def __init__(self, refusal: Refusal) -> None:
        super().__init__(refusal.value)
        self.refusal = refusal


@dataclass(slots=True)
class SizeGuard:
    """Counts streamed bytes and stops at the cap, whatever size was declared."""

    cap: int
    seen: int = 0

    def add(self, n: int) -> None:
        self.seen += n
        if self.seen > self.cap:
            raise TooBig(f"more than {self.cap} bytes")


_HTML_PREFIXES = (b"<!doctype html", b"<html", b"<head", b"<!--", b"<body")
_MAGIC: dict[str, tuple[bytes, ...]] = {
    "png": (b"\x89PNG\r\n\x1a\n",),
    "jpg": (b"\xff\xd8\xff",),
    "jpeg": (b"\xff\xd8\xff",),
    "gif": (b"GIF87a", b"GIF89a"),
    "pdf": (b"%PDF-",),
    "docx": (b"PK\x03\x04",),
    "xlsx": (b"PK\x03\x04",),
    "pptx": (b"PK\x03\x04",),
    "doc": (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",),
    "xls": (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",),
    "ppt": (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",),
}


def looks_like_html(content_type: str, head: bytes) -> bool:
    """Slack's sign-in page: what a download without ``files:read`` (or the token) returns,
    with status 200 (issue 9; seen by every bot that forgot the scope)."""
    if content_type.split(";", 1)[0].strip().lower() == "text/html":
        return True
    start = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return start.startswith(_HTML_PREFIXES)


def check_head(extension: str, content_type: str, head: bytes) -> None:
    """Raise :class:`Mismatch` when the first bytes say this is not a ``extension`` file."""
    if extension not in ("html", "htm") and looks_like_html(content_type, head):
        raise Mismatch(Refusal.NEEDS_SCOPE)
    if extension == "webp":
        if not (head[:4] == b"RIFF" and head[8:12] == b"WEBP"):
            raise Mismatch(Refusal.NOT_WHAT_IT_SAYS)
        return
    magic = _MAGIC.get(extension)
    if magic is not None and not head.startswith(magic):
        raise Mismatch(Refusal.NOT_WHAT_IT_SAYS)
    if extension in ("csv", "txt", "md", "json") and b"\x00" in head[:4096]:
        raise Mismatch(Refusal.NOT_WHAT_IT_SAYS)  # binary posing as text


def image_type(head: bytes) -> str | None:
    """The MIME type of image bytes, from their magic, or None."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    return None


def rejects_attachments(exc: Exception) -> bool:
    """A 400 that names the attachments or a file id: the upstream no longer has a file.
    (The wording is undocumented; the fake follows the 1214 "参数非法" pattern.)"""
    message = str(getattr(exc, "message", "") or "").lower()
    code = getattr(exc, "code", None)
    return code in ("1210", "1214") and ("attachment" in message or "file" in message)
