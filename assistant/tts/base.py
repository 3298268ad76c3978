from __future__ import annotations

from typing import Iterator, Protocol

from assistant.core.types import AudioChunk


class TTS(Protocol):
    """One voice. Construct cheaply; ``load()`` loads the model; ``synthesize`` blocks."""

    def load(self) -> None: ...

    def supports(self, language: str) -> bool | None:
        """True/False when the voice knows; None when it can't tell (trust the voice map)."""
        ...

    def synthesize(self, text: str, language: str) -> Iterator[AudioChunk]:
        """Speech for ``text``, in chunks at the voice's own sample rate."""
        ...
