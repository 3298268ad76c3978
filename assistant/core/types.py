"""Typed messages that travel between stages.

Every piece of audio carries its own sample rate: nothing in the pipeline assumes 16 kHz.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass(frozen=True)
class AudioChunk:
    """Float32 mono samples in [-1, 1] at ``sample_rate`` Hz."""

    samples: np.ndarray
    sample_rate: int

    def __post_init__(self) -> None:
        if self.samples.ndim != 1:
            raise ValueError("AudioChunk holds mono audio: samples must be one-dimensional")
        if self.samples.dtype != np.float32:
            object.__setattr__(self, "samples", self.samples.astype(np.float32))

    @property
    def duration(self) -> float:
        return len(self.samples) / float(self.sample_rate) if self.sample_rate else 0.0

    def resampled(self, rate: int) -> "AudioChunk":
        from assistant.core.resample import resample

        if rate == self.sample_rate:
            return self
        return AudioChunk(resample(self.samples, self.sample_rate, rate), rate)

    @staticmethod
    def concat(chunks: list["AudioChunk"], sample_rate: int | None = None) -> "AudioChunk":
        """Join chunks, resampling each to ``sample_rate`` (default: the first chunk's)."""
        if not chunks:
            return AudioChunk(np.zeros(0, np.float32), sample_rate or 16000)
        rate = sample_rate or chunks[0].sample_rate
        parts = [c.resampled(rate).samples for c in chunks]
        return AudioChunk(np.concatenate(parts).astype(np.float32), rate)


@dataclass(frozen=True)
class Utterance:
    """One stretch of user speech, as the STT stage receives it."""

    audio: AudioChunk
    turn_id: int = 0
    source: str = ""  # file path, or "microphone"
    speech_ratio: float | None = None  # share of frames the VAD called speech, when known
    ended_at: float | None = None  # time.monotonic() at end of speech, for latency
    capture_delay: float | None = None  # seconds from the microphone to the endpointer (device buffers, queue)


@dataclass(frozen=True)
class Segment:
    start: float
    end: float
    text: str
    avg_logprob: float | None = None
    no_speech_probability: float | None = None
    compression_ratio: float | None = None


@dataclass(frozen=True)
class Transcript:
    text: str
    language: str
    language_probability: float | None  # Whisper's probability of ``language`` (None: fixed)
    no_speech_probability: float = 0.0
    avg_logprob: float | None = None
    segments: tuple[Segment, ...] = ()
    language_probabilities: dict[str, float] = field(default_factory=dict)  # top few, best first
    task: str = "transcribe"
    duration: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "language": self.language,
            "language_probability": self.language_probability,
            "language_probabilities": self.language_probabilities,
            "no_speech_probability": self.no_speech_probability,
            "avg_logprob": self.avg_logprob,
            "task": self.task,
            "duration": self.duration,
            "segments": [
                {"start": s.start, "end": s.end, "text": s.text, "avg_logprob": s.avg_logprob,
                 "no_speech_probability": s.no_speech_probability}
                for s in self.segments
            ],
        }


@dataclass(frozen=True)
class Message:
    """One chat message for the LLM stage."""

    role: str  # "system" | "user" | "assistant"
    content: str

    def as_dict(self) -> dict[str, str]:
        return {"role": self.role, "content": self.content}


@dataclass(frozen=True)
class LanguageDecision:
    """Which language a turn uses, and why (see assistant/language/policy.py)."""

    language: str
    reason: str  # detected | restricted | kept-previous | default | fixed | requested | candidate
    probability: float | None
    top: tuple[tuple[str, float], ...] = ()
    candidates: tuple[str, ...] = ()  # the next languages to decode in when a decode fails (unsure only)

    def to_dict(self) -> dict[str, Any]:
        d = {"language": self.language, "reason": self.reason, "probability": self.probability,
             "top": [{"language": c, "probability": p} for c, p in self.top]}
        if self.candidates:
            d["candidates"] = list(self.candidates)
        return d


@dataclass
class Turn:
    """One user utterance and the assistant's reply: what the API returns and the log records."""

    id: int
    started_at: str  # ISO 8601, UTC
    input: str
    status: str = "ok"  # ok | no_speech | failed | command | interrupted | ignored (paused: not the wake phrase)
    command: str | None = None  # the voice command's kind when status is "command" (stop, repeat, ...)
    transcript: Transcript | None = None
    decision: LanguageDecision | None = None
    reply_text: str = ""
    reply_language: str | None = None
    reply_check: dict[str, Any] | None = None
    reply_audio: AudioChunk | None = None
    voice: str | None = None
    output_path: str | None = None
    timings_ms: dict[str, float] = field(default_factory=dict)
    notice: str | None = None  # something the user should hear/see (no speech, no voice, ...)
    error: str | None = None
    interrupted: bool = False
    models: dict[str, str] = field(default_factory=dict)  # stage → "backend:model" actually used

    @property
    def language(self) -> str | None:
        return self.decision.language if self.decision else (self.transcript.language if self.transcript else None)

    @property
    def language_probability(self) -> float | None:
        return self.transcript.language_probability if self.transcript else None

    @property
    def text(self) -> str:
        return self.transcript.text if self.transcript else ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "time": self.started_at,
            "input": self.input,
            "status": self.status,
            "command": self.command,
            "language": self.language,
            "language_probability": self.language_probability,
            "language_decision": self.decision.to_dict() if self.decision else None,
            "transcript": self.text,
            "no_speech_probability": self.transcript.no_speech_probability if self.transcript else None,
            "reply": self.reply_text,
            "reply_language": self.reply_language,
            "reply_check": self.reply_check,
            "voice": self.voice,
            "reply_audio_seconds": round(self.reply_audio.duration, 3) if self.reply_audio else None,
            "output": self.output_path,
            "timings_ms": {k: round(v, 1) for k, v in self.timings_ms.items()},
            "interrupted": self.interrupted,
            "notice": self.notice,
            "error": self.error,
            "models": self.models,
        }
