from __future__ import annotations

from typing import Protocol

from assistant.core.types import AudioChunk, Segment, Transcript


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


def weighted_logprob(segments: tuple[Segment, ...]) -> float | None:
    """Mean of the segments' avg log-probabilities, weighted by their duration (every Whisper
    backend reports a transcript's log-probability this way)."""
    scored = [s for s in segments if s.avg_logprob is not None]
    if not scored:
        return None
    weights = [max(s.end - s.start, 0.0) for s in scored]
    if sum(weights) <= 0:
        return sum(s.avg_logprob for s in scored) / len(scored)
    return sum(w * s.avg_logprob for w, s in zip(weights, scored)) / sum(weights)
