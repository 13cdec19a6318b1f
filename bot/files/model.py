"""Slack file objects from events, validated into typed values (pure).

Slack puts a ``files`` list on ``message`` events with ``subtype: file_share`` and on
``app_mention`` events (https://docs.slack.dev/reference/objects/file-object). Anything that is
not a well-formed file object is dropped here, so the rest of the code never sees raw dicts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

MAX_FILES_PER_MESSAGE = 20  # Slack attaches at most 10 per message; anything more is hostile
_ID = re.compile(r"^F[A-Z0-9]{2,40}$")


class FileKind(StrEnum):
    IMAGE = "image"
    DOCUMENT = "document"
    UNSUPPORTED = "unsupported"


# Extension → (kind, MIME type the bytes must be sent with).
IMAGE_TYPES: dict[str, str] = {
    "png": "image/png",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "gif": "image/gif",
    "webp": "image/webp",
}
DOCUMENT_TYPES: dict[str, str] = {
    "pdf": "application/pdf",
    "doc": "application/msword",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xls": "application/vnd.ms-excel",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "ppt": "application/vnd.ms-powerpoint",
    "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "csv": "text/csv",
    "txt": "text/plain",
    "md": "text/markdown",
    "json": "application/json",
}
# Slack's ``filetype`` values that differ from the extension.
_FILETYPE_ALIASES = {"text": "txt", "markdown": "md", "jpeg": "jpg"}


@dataclass(frozen=True, slots=True)
class SlackFile:
    """One file a person shared, as far as the event tells (``size`` is only declared)."""

    id: str
    name: str
    mimetype: str
    filetype: str
    size: int | None
    url: str | None  # url_private_download, else url_private

    @property
    def extension(self) -> str:
        """The type this file is treated as: the name's extension, else Slack's filetype."""
        if "." in self.name:
            ext = self.name.rsplit(".", 1)[1].lower()
            if ext in IMAGE_TYPES or ext in DOCUMENT_TYPES:
                return ext
        ft = _FILETYPE_ALIASES.get(self.filetype, self.filetype)
        if ft in IMAGE_TYPES or ft in DOCUMENT_TYPES:
            return ft
        return self.name.rsplit(".", 1)[1].lower() if "." in self.name else self.filetype

    @property
    def kind(self) -> FileKind:
        ext = self.extension
        if ext in IMAGE_TYPES:
            return FileKind.IMAGE
        if ext in DOCUMENT_TYPES:
            return FileKind.DOCUMENT
        return FileKind.UNSUPPORTED

    @property
    def content_type(self) -> str:
        ext = self.extension
        return IMAGE_TYPES.get(ext) or DOCUMENT_TYPES.get(ext) or "application/octet-stream"


def _text(value: Any, limit: int = 255) -> str:
    return value[:limit] if isinstance(value, str) else ""


def _url(value: Any) -> str | None:
    if isinstance(value, str) and value.startswith(("https://", "http://")) and len(value) < 2048:
        return value
    return None


def parse_file(raw: Any) -> SlackFile | None:
    """A typed file, or None for anything Slack would not send as a shareable file."""
    if not isinstance(raw, dict):
        return None
    file_id = raw.get("id")
    if not isinstance(file_id, str) or not _ID.match(file_id):
        return None
    if raw.get("mode") in ("tombstone", "external"):
        return None  # deleted, or a link to Google Drive & co.: nothing to download
    size = raw.get("size")
    name = _text(raw.get("name")) or _text(raw.get("title")) or file_id
    name = name.replace("\n", " ").replace("`", "'").strip() or file_id
    return SlackFile(
        id=file_id,
        name=name,
        mimetype=_text(raw.get("mimetype"), 128),
        filetype=_text(raw.get("filetype"), 32).lower(),
        size=size if isinstance(size, int) and not isinstance(size, bool) and size >= 0 else None,
        url=_url(raw.get("url_private_download")) or _url(raw.get("url_private")),
    )


def parse_files(raw: Any) -> tuple[SlackFile, ...]:
    """The valid files of an event's ``files`` list, at most :data:`MAX_FILES_PER_MESSAGE`."""
    if not isinstance(raw, list):
        return ()
    files: list[SlackFile] = []
    seen: set[str] = set()
    for item in raw[:MAX_FILES_PER_MESSAGE]:
        parsed = parse_file(item)
        if parsed is not None and parsed.id not in seen:
            seen.add(parsed.id)
            files.append(parsed)
    return tuple(files)
