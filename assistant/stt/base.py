from __future__ import annotations

from typing import Protocol

from assistant.core.types import AudioChunk, Transcript


class STT(Protocol):
    """Speech to text. Construct cheaply; ``load()`` loads the model; calls block."""

    #: sample rate the backend wants its input at (audio is converted before the call)
    sample_rate: int

    def load(self) -> None: ...

    def detect_language(self, audio: AudioChunk) -> dict[str, float]:
        """Probability of every language the model knows, for this audio."""
        ...

    def transcribe(
        self,
        audio: AudioChunk,
        *,
        language: str | None = None,
        initial_prompt: str | None = None,
    ) -> Transcript:
        """Transcribe (or translate, per options). ``language=None`` detects it."""
        ...
