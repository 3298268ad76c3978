"""A voice for every language: the voice map, its fallbacks, and the voices' cache.

Resolution order for a language: the voice mapped to it → Pico, when a model voice (Piper,
Coqui, ...) is mapped and Pico speaks the language (understood far better than espeak-ng:
``assistant.tts.quality``) → the ``fallback`` voice (if it can speak that language) → espeak-ng's
own voice for it (``espeak_fallback``) → none, in which case
the caller shows the reply as a caption and says no voice is available. Voices load lazily on
first use and stay loaded; a voice that fails to load is skipped (with a warning) and the next
candidate is tried, so a broken voice never ends a turn.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Callable, Iterator

from pydantic import BaseModel, ConfigDict

from assistant.core import registry
from assistant.core.errors import AssistantError, NoVoiceError
from assistant.core.options import BackendOptions
from assistant.core.types import AudioChunk
from assistant.tts.base import TTS

log = logging.getLogger(__name__)


class TTSConfig(BaseModel):
    """Voices per language. Each voice is one TTS backend's options."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    voices: dict[str, BackendOptions]
    fallback: BackendOptions | None
    espeak_fallback: bool = True

    def voice_for(self, language: str) -> BackendOptions | None:
        return self.voices.get(language)


@dataclass(frozen=True)
class Voice:
    label: str  # e.g. "coqui:tts_models/de/thorsten/vits"
    source: str  # mapped | fallback | espeak
    options: BackendOptions


def voice_label(options: BackendOptions) -> str:
    """``backend:model`` or ``backend:voice``; both when a backend has both (one server model, many
    voices: the label is also the key voices are loaded under)."""
    model, voice = getattr(options, "model", None), getattr(options, "voice", None)
    detail = f"{model}/{voice}" if model and voice else model or voice
    return f"{options.backend}:{detail}" if detail else options.backend


def _pico_stand_in(mapped: BackendOptions, language: str) -> BackendOptions | None:
    """Pico's options when it should stand in for a mapped model voice that fails to load."""
    import importlib.util

    if mapped.backend in ("pico", "espeak") or "pico" not in registry.BACKENDS["tts"]:
        return None
    from assistant.tts.pico import pico_voice

    if pico_voice(language) is None or importlib.util.find_spec("py_nanotts") is None:
        return None
    return registry.get("tts", "pico").options_class()(backend="pico")


def _default_factory(options: BackendOptions) -> TTS:
    return registry.get("tts", options.backend).create(options)


class VoiceRouter:
    def __init__(self, config: TTSConfig,
                 factory: Callable[[BackendOptions], TTS] = _default_factory) -> None:
        self.config = config
        self._factory = factory
        self._loaded: dict[str, TTS] = {}
        self._failed: dict[str, str] = {}  # label → why it could not load
        self.warnings: list[str] = []  # for the orchestrator to show/speak once

    def candidates(self, language: str) -> list[Voice]:
        out: list[Voice] = []
        mapped = self.config.voice_for(language)
        if mapped is not None:
            out.append(Voice(voice_label(mapped), "mapped", mapped))
            stand_in = _pico_stand_in(mapped, language)
            if stand_in is not None:
                out.append(Voice(voice_label(stand_in), "stand-in", stand_in))
        if self.config.fallback is not None:
            out.append(Voice(voice_label(self.config.fallback), "fallback", self.config.fallback))
        if self.config.espeak_fallback:
            opts = registry.get("tts", "espeak").options_class()(backend="espeak")
            out.append(Voice(voice_label(opts), "espeak", opts))
        return out

    def _engine(self, voice: Voice) -> TTS | None:
        if voice.label in self._failed:
            return None
        engine = self._loaded.get(voice.label)
        if engine is None:
            try:
                engine = self._factory(voice.options)
                engine.load()
            except AssistantError as e:
                self._failed[voice.label] = str(e)
                self.warnings.append(f"voice {voice.label} is unavailable, using the next one: {e}")
                log.warning("voice %s failed to load: %s", voice.label, e)
                return None
            self._loaded[voice.label] = engine
        return engine

    def resolve(self, language: str) -> tuple[Voice, TTS] | None:
        """The first candidate voice that loads and can speak ``language``."""
        for voice in self.candidates(language):
            engine = self._engine(voice)
            if engine is None:
                continue
            # A mapped voice is trusted; other voices must not say they can't speak it.
            if voice.source != "mapped" and engine.supports(language) is False:
                continue
            return voice, engine
        return None

    def describe(self, language: str) -> str:
        """Which voice would speak ``language``, loading only cheap voices (espeak-ng), for
        `assistant languages`. Model voices are judged by their options, not loaded."""
        voice = self.expected(language)
        if voice is None:
            return "none (caption only)"
        return voice.label if voice.source == "mapped" else f"{voice.label} ({voice.source})"

    def expected(self, language: str) -> Voice | None:
        """The voice ``describe`` names (None: no voice)."""
        for voice in self.candidates(language):
            if voice.source == "mapped":
                return voice
            if voice.options.backend == "espeak":
                engine = self._engine(voice)
                if engine is None or engine.supports(language) is False:
                    continue
            elif self._factory(voice.options).supports(language) is False:
                continue
            return voice
        return None

    def synthesize(self, text: str, language: str) -> tuple[Voice, Iterator[AudioChunk]]:
        found = self.resolve(language)
        if found is None:
            raise NoVoiceError(language, "add a voice for it under tts.voices, or install espeak-ng")
        voice, engine = found
        return voice, engine.synthesize(text, language)

    def preload(self, languages: list[str]) -> None:
        for lang in languages:
            self.resolve(lang)
