"""Tokens at rest: Fernet (AES-128-CBC + HMAC-SHA256, from ``cryptography``), several keys.

``SLACK_TOKEN_ENCRYPTION_KEY`` is a comma-separated list: the first key encrypts, every key
decrypts (``MultiFernet``), so a key is rotated by putting a new one first, letting the bot
re-encrypt (``rotate``), then dropping the old one. Ciphertexts carry a prefix so a plain token
(a row written before encryption, or by another tool) is never mistaken for one.
"""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

PREFIX = "fernet:"


class TokenDecryptError(Exception):
    """A stored token cannot be read with any configured key (wrong or dropped key)."""


def generate_key() -> str:
    """A fresh key for ``SLACK_TOKEN_ENCRYPTION_KEY`` (``python -m bot keygen``)."""
    return Fernet.generate_key().decode("ascii")


class TokenCipher:
    def __init__(self, keys: str) -> None:
        parts = [k.strip() for k in keys.split(",") if k.strip()]
        if not parts:
            raise ValueError("no encryption key")
        self._fernet = MultiFernet([Fernet(k.encode("ascii")) for k in parts])

    def encrypt(self, value: str | None) -> str | None:
        if value is None:
            return None
        return PREFIX + self._fernet.encrypt(value.encode()).decode("ascii")

    def decrypt(self, value: str | None) -> str | None:
        if value is None:
            return None
        if not value.startswith(PREFIX):
            raise TokenDecryptError("stored token is not encrypted")
        try:
            return self._fernet.decrypt(value[len(PREFIX) :].encode("ascii")).decode()
        except InvalidToken:
            raise TokenDecryptError("no configured key decrypts the stored token") from None

    def rotate(self, value: str | None) -> str | None:
        """The same secret encrypted with the first key (for key rotation)."""
        if value is None:
            return None
        if not value.startswith(PREFIX):
            return self.encrypt(value)
        try:
            raw = self._fernet.rotate(value[len(PREFIX) :].encode("ascii"))
        except InvalidToken:
            raise TokenDecryptError("no configured key decrypts the stored token") from None
        return PREFIX + raw.decode("ascii")
