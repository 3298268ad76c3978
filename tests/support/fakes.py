"""Fake stages for pipeline-logic tests only (never shipped as backends)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterator, Sequence

import numpy as np

from assistant.core.errors import LLMConnectionError
from assistant.core.types import AudioChunk, Message, Segment, Transcript


@dataclass
class FakeSTT:
    text: str = "hello there"
    probs: dict[str, float] = field(default_factory=lambda: {"en": 0.9, "de": 0.05, "fr": 0.05})
    no_speech: float = 0.01
    avg_logprob: float = -0.2
    sample_rate: int = 16000
    calls: list[tuple[str, object]] = field(default_factory=list)
    loaded: bool = False

    def load(self) -> None:
        self.loaded = True

    def detect_language(self, audio: AudioChunk) -> dict[str, float]:
        self.calls.append(("detect", audio.duration))
        return dict(self.probs)

    def transcribe(self, audio: AudioChunk, *, language=None, initial_prompt=None) -> Transcript:
        self.calls.append(("transcribe", language))
        lang = language or max(self.probs, key=self.probs.get)
        return Transcript(text=self.text, language=lang, language_probability=self.probs.get(lang),
                          no_speech_probability=self.no_speech, avg_logprob=self.avg_logprob,
                          segments=(Segment(0.0, audio.duration, self.text),), duration=audio.duration)


@dataclass
class FakeLLM:
    reply: str = "Hi! How can I help?"
    fail: Exception | None = None
    seen: list[Sequence[Message]] = field(default_factory=list)
    finish_reason: str | None = None

    def load(self) -> None:
        pass

    def count_tokens(self, text: str) -> int:
        return len(text.split())

    def stream(self, messages: Sequence[Message]) -> Iterator[str]:
        self.seen.append(list(messages))
        if self.fail:
            raise self.fail
        for word in self.reply.split(" "):
            yield word + " "


@dataclass
class FakeTTS:
    rate: int = 22050
    languages: set[str] | None = None
    texts: list[tuple[str, str]] = field(default_factory=list)

    def load(self) -> None:
        pass

    def supports(self, language: str):
        return None if self.languages is None else language in self.languages

    def synthesize(self, text: str, language: str) -> Iterator[AudioChunk]:
        self.texts.append((text, language))
        n = int(self.rate * 0.05 * max(1, len(text.split())))
        t = np.arange(n) / self.rate
        yield AudioChunk((0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32), self.rate)


def refused_llm(url: str = "http://127.0.0.1:9/v1") -> FakeLLM:
    return FakeLLM(fail=LLMConnectionError(f"cannot reach the LLM server at {url}: connection refused"))


def tone(seconds: float = 1.5, rate: int = 16000, amplitude: float = 0.3) -> AudioChunk:
    t = np.arange(int(seconds * rate)) / rate
    return AudioChunk((amplitude * np.sin(2 * np.pi * 200 * t)).astype(np.float32), rate)


class LoudnessVAD:
    """VAD stand-in for pipeline tests: any frame with signal is 'speech'."""

    def speech_probability(self, frame) -> float:
        return 1.0 if float(np.sqrt(np.mean(frame ** 2))) > 1e-3 else 0.0

    def reset(self) -> None:
        pass
