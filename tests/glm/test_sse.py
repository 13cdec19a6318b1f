"""Tests for bot.glm.sse.SSEDecoder: framing, field handling and arbitrary chunk splits."""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.glm.sse import SSEDecoder


def decode(*chunks: bytes) -> list[str]:
    """Feed every chunk, then close; return all payloads in order."""
    decoder = SSEDecoder()
    out: list[str] = []
    for chunk in chunks:
        out.extend(decoder.feed(chunk))
    out.extend(decoder.close())
    return out


def test_single_event_is_returned_by_feed() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b'data: {"a":1}\n\n') == ['{"a":1}']
    assert decoder.close() == []


def test_event_is_not_returned_before_its_blank_line() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data: x\n") == []
    assert decoder.feed(b"\n") == ["x"]


def test_data_without_space_after_colon() -> None:
    assert decode(b"data:x\n\n") == ["x"]


def test_only_one_leading_space_is_removed() -> None:
    assert decode(b"data:  x \n\n") == [" x "]


def test_crlf_line_endings() -> None:
    assert decode(b"data: a\r\n\r\ndata: b\r\n\r\n") == ["a", "b"]


def test_split_between_cr_and_lf() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data: a\r") == []
    assert decoder.feed(b"\n\r") == []
    assert decoder.feed(b"\n") == ["a"]


def test_split_inside_multibyte_character() -> None:
    raw = "data: 总结。\n\n".encode()
    cut = raw.index("总".encode()) + 1  # inside the 3-byte sequence
    assert decode(raw[:cut], raw[cut:]) == ["总结。"]


def test_byte_by_byte() -> None:
    raw = 'data: {"content":"总结 🎉"}\r\n\r\n'.encode()
    assert decode(*(raw[i : i + 1] for i in range(len(raw)))) == ['{"content":"总结 🎉"}']


def test_comment_lines_are_ignored_and_do_not_end_an_event() -> None:
    assert decode(b": keep-alive\n\ndata: a\n: inside\ndata: b\n\n") == ["a\nb"]


def test_event_id_and_retry_fields_are_ignored() -> None:
    stream = b'event: error\nid: 7\nretry: 100\ndata: {"error":{}}\n\n'
    assert decode(stream) == ['{"error":{}}']


def test_event_without_data_produces_nothing() -> None:
    assert decode(b"event: ping\nid: 1\n\n") == []


def test_multi_line_data_is_joined_with_newline() -> None:
    assert decode(b"data: line1\ndata: line2\ndata:line3\n\n") == ["line1\nline2\nline3"]


def test_empty_data_field_dispatches_empty_payload() -> None:
    assert decode(b"data:\n\n") == [""]
    assert decode(b"data\n\n") == [""]


def test_repeated_blank_lines_produce_nothing_extra() -> None:
    assert decode(b"\n\n\ndata: a\n\n\n\n") == ["a"]


def test_close_returns_final_event_without_blank_line() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data: a\n\ndata: last\n") == ["a"]
    assert decoder.close() == ["last"]


def test_close_returns_final_line_without_any_newline() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data: first\ndata: last\r") == []
    assert decoder.close() == ["first\nlast"]


def test_close_is_idempotent() -> None:
    decoder = SSEDecoder()
    decoder.feed(b"data: a")
    assert decoder.close() == ["a"]
    assert decoder.close() == []


def test_done_is_passed_through() -> None:
    assert decode(b'data: {"x":1}\n\ndata: [DONE]\n\n') == ['{"x":1}', "[DONE]"]


def test_invalid_utf8_is_replaced_not_raised() -> None:
    assert decode(b"data: \xff\n\n") == ["\ufffd"]


STREAM = (
    ": keep-alive\r\n\r\n"
    'data: {"content":"总结"}\n\n'
    "event: message\r\n"
    "id: 42\r\n"
    'data:{"content":"。"}\r\n'
    "\r\n"
    "data: part 1 🎉\n"
    ": comment\n"
    "data: part 2\n"
    "\n"
    "data: [DONE]\n\n"
    "data: trailing without blank line\r\n"
).encode()
EXPECTED = [
    '{"content":"总结"}',
    '{"content":"。"}',
    "part 1 🎉\npart 2",
    "[DONE]",
    "trailing without blank line",
]


def test_reference_stream_in_one_chunk() -> None:
    assert decode(STREAM) == EXPECTED


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=len(STREAM)), max_size=30))
def test_any_split_gives_identical_payloads(cuts: list[int]) -> None:
    points = [0, *sorted(cuts), len(STREAM)]
    chunks = [STREAM[a:b] for a, b in itertools.pairwise(points)]
    assert decode(*chunks) == EXPECTED
