"""Incremental Server-Sent Events decoding, pure and byte-oriented.

Fed raw network chunks (any split, ``\\n`` or ``\\r\\n``), it yields the ``data`` payload of each
complete event. A final event without its blank line is returned by :meth:`close` instead of
being dropped, unlike the official Python SDK (wire notes §2.1).
"""

from __future__ import annotations


class SSEDecoder:
    def __init__(self) -> None:
        self._buffer = bytearray()
        self._data: list[str] = []

    def feed(self, chunk: bytes) -> list[str]:
        """Consume bytes; return the payloads of the events completed by them."""
        self._buffer += chunk
        events: list[str] = []
        start = 0
        while True:
            nl = self._buffer.find(b"\n", start)
            if nl < 0:
                break
            line = bytes(self._buffer[start:nl])
            start = nl + 1
            if line.endswith(b"\r"):
                line = line[:-1]
            payload = self._line(line)
            if payload is not None:
                events.append(payload)
        del self._buffer[:start]
        return events

    def close(self) -> list[str]:
        """End of stream: flush a trailing line and an event that lacked its blank line."""
        events: list[str] = []
        if self._buffer:
            payload = self._line(bytes(self._buffer).rstrip(b"\r"))
            self._buffer.clear()
            if payload is not None:
                events.append(payload)
        if self._data:
            events.append("\n".join(self._data))
            self._data = []
        return events

    def _line(self, line: bytes) -> str | None:
        if not line:
            if self._data:
                payload = "\n".join(self._data)
                self._data = []
                return payload
            return None
        if line.startswith(b":"):
            return None  # comment / keep-alive
        name, _, value = line.partition(b":")
        if name != b"data":
            return None  # event:, id:, retry: carry nothing we use
        if value.startswith(b" "):
            value = value[1:]
        self._data.append(value.decode("utf-8", errors="replace"))
        return None
