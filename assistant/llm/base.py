from __future__ import annotations

from typing import Iterator, Protocol, Sequence

from assistant.core.types import Message


class LLM(Protocol):
    """Chat model. Construct cheaply; ``load()`` loads or connects; ``stream`` blocks per token."""

    def load(self) -> None: ...

    def stream(self, messages: Sequence[Message]) -> Iterator[str]:
        """Yield the reply's text pieces (tokens) as the model produces them."""
        ...

    def count_tokens(self, text: str) -> int:
        """Token count of ``text`` for history trimming (an estimate is fine)."""
        ...
