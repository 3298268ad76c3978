"""Secrets the process holds (API keys): registered once, redacted from every message and log line.

A server may echo the ``Authorization`` header back in an error body, a malformed stream event
or invalid JSON; whatever text reaches an error message or the turn log passes through
``redact`` first (``AssistantError`` does it for every message and hint, ``TurnLog`` for every
record), so the key is never printed or written.
"""

from __future__ import annotations

import json

MASK = "***"
MIN_LENGTH = 6  # shorter values would mask ordinary words; no real API key is that short

_secrets: set[str] = set()


def register(value: str | None) -> None:
    """Remember ``value`` (an API key) so that ``redact`` removes it from now on."""
    if value and len(value) >= MIN_LENGTH:
        _secrets.add(value)
        # the same key as it appears inside JSON text (escaped quotes, backslashes, non-ASCII)
        _secrets.add(json.dumps(value)[1:-1])
        _secrets.add(json.dumps(value, ensure_ascii=False)[1:-1])


def redact(text: str) -> str:
    for secret in sorted(_secrets, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, MASK)
    return text
