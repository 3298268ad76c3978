from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator, Protocol, Sequence

from assistant.core.types import Message


@dataclass
class ReplyEnd:
    """How one reply stream ended, taken from the backend as that stream ends (under the LLM's
    lock: the backend's ``finish_reason`` is its last stream's, and another session may start one
    right after). ``finish_reason``: "stop" (the model ended the reply), "length" (the token limit
    cut it), None (not known, or the stream did not run to its end)."""

    finish_reason: str | None = None

    @property
    def cut(self) -> bool:
        return self.finish_reason == "length"


class LLM(Protocol):
    """Chat model. Construct cheaply; ``load()`` loads or connects; ``stream`` blocks per token."""

    # Why the last ``stream`` ended ("stop", "length" or None, as in ``ReplyEnd``): set by the
    # stream itself; ``Stages`` copies it into that stream's ``ReplyEnd`` when the stream ends.
    finish_reason: str | None

    def load(self) -> None: ...

    def stream(self, messages: Sequence[Message]) -> Iterator[str]:
        """Yield the reply's text pieces (tokens) as the model produces them."""
        ...

    def count_tokens(self, text: str) -> int:
        """Token count of ``text`` for history trimming (an estimate is fine)."""
        ...
