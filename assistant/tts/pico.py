"""SVOX Pico voices (``py-nanotts``): small, offline, and understood — de, en, es, fr, it.

Pico is a 2009 unit-selection-free HMM synthesiser (Android's old default voice): not neural, but
Whisper base hears it back at a fraction of espeak-ng's word error rate (``assistant eval voices``,
README), with no model download: the six voices (de-DE, en-GB, en-US, es-ES, fr-FR, it-IT, 6.5 MB)
are inside the ``py-nanotts`` wheel (Apache-2.0). Each call returns 16 kHz mono 16-bit PCM about
50-200 times faster than real time on one core.

How the binding behaves, and what this file does about it (read from its C source, 0.1.1):
- Every ``speak()`` builds and tears down its own Pico system in its own memory block, and holds
  the GIL for the whole synthesis. Calls are therefore serialised by the GIL already; the lock
  below keeps them serialised should a later binding release the GIL (SVOX Pico was written for
  one engine at a time and its reentrancy is not documented), at no cost today. Its output is not
  bit-exact from call to call: a few LSB of noise, and the pause after a sentence depends on what
  was said before (some state outlives the call); the speech itself is the same.
- Holding the GIL means the audio thread waits while Pico works, so text is synthesized in
  pieces of at most ``MAX_PIECE_CHARS`` (sentences, packed): each call is a few milliseconds and
  the first piece's audio is out before the rest is made.
- Rate, pitch and volume are sent as Pico markup tags around the text (``<speed level=..>``), so
  the text itself must not carry markup: ``<`` and ``>`` are replaced by spaces (a reply saying
  ``<speed level="20">`` would otherwise slow the voice to a crawl). Control characters are
  removed (a NUL would end the C string early).
- Characters Pico has no rule for (emoji, CJK, ...) are skipped by Pico itself; an over-long
  "word" is spelled letter by letter (300 letters: 40 s of audio), so a word is cut into pieces
  of ``MAX_WORD_CHARS``.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from typing import Iterator, Literal

import numpy as np
from pydantic import Field

from assistant.core.errors import MissingDependencyError, NoVoiceError, StageError
from assistant.core.model_entry import ModelEntry
from assistant.core.options import BackendOptions
from assistant.core.types import AudioChunk

SAMPLE_RATE = 16000
PicoVoice = Literal["de-DE", "en-GB", "en-US", "es-ES", "fr-FR", "it-IT"]
# The voice per language (English: ``PicoOptions.english``).
VOICES = {"de": "de-DE", "es": "es-ES", "fr": "fr-FR", "it": "it-IT"}
LANGUAGES = frozenset({*VOICES, "en"})
MAX_PIECE_CHARS = 250
MAX_WORD_CHARS = 40
INSTALL_HINT = "install it with: pip install py-nanotts (a small wheel; the voices are inside)"

_LOCK = threading.Lock()  # one Pico synthesis at a time in this process (see the module note)
_MARKUP = re.compile(r"[<>]")
_SENTENCE_END = re.compile(r"(?<=[.!?;:…。！？])\s+")


class PicoOptions(BackendOptions):
    backend: Literal["pico"] = "pico"
    voice: PicoVoice | None = Field(None, description="Pico voice for every reply (de-DE, en-GB, en-US, es-ES, "
                                                      "fr-FR, it-IT); unset: the voice of each reply's language")
    english: Literal["en-US", "en-GB"] = Field("en-US", description="the voice for English replies")
    speed: float = Field(1.0, ge=0.2, le=5.0, description="speaking-rate factor (1: Pico's own)")
    pitch: float = Field(1.0, ge=0.5, le=2.0, description="pitch factor (1: Pico's own)")
    volume: float = Field(1.0, ge=0.0, le=5.0, description="volume factor (1: Pico's own)")


def pico_voice(language: str, english: str = "en-US") -> str | None:
    """The Pico voice for a Whisper (or BCP-47-like) language code; None if Pico has none."""
    primary = language.strip().lower().replace("_", "-").split("-")[0]
    if primary == "en":
        return english
    return VOICES.get(primary)


def clean_text(text: str) -> str:
    """The text as Pico should read it: no markup brackets, no control characters, no endless words."""
    text = _MARKUP.sub(" ", text)
    text = "".join(" " if unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") else ch for ch in text)
    words = []
    for word in text.split():
        words.extend(word[i:i + MAX_WORD_CHARS] for i in range(0, len(word), MAX_WORD_CHARS))
    return " ".join(words)


def pieces(text: str, limit: int = MAX_PIECE_CHARS) -> list[str]:
    """``text`` cut at sentence ends into pieces of at most ``limit`` characters (sentences packed
    together up to the limit; a longer sentence cut at its last space before it)."""
    out: list[str] = []
    current = ""
    for sentence in _SENTENCE_END.split(text):
        while len(sentence) > limit:
            cut = sentence.rfind(" ", 0, limit + 1)
            cut = cut if cut > 0 else limit
            if current:
                out.append(current)
                current = ""
            out.append(sentence[:cut].strip())
            sentence = sentence[cut:].strip()
        if not sentence:
            continue
        if current and len(current) + 1 + len(sentence) > limit:
            out.append(current)
            current = ""
        current = f"{current} {sentence}" if current else sentence
    if current:
        out.append(current)
    return [p for p in out if p]


class PicoTTS:
    def __init__(self, options: PicoOptions | None = None) -> None:
        self.options = options or PicoOptions()
        self._engine = None

    def load(self) -> None:
        if self._engine is not None:
            return
        try:
            import py_nanotts
        except ImportError as error:
            raise MissingDependencyError("the pico TTS backend needs the package py-nanotts, which is not "
                                         f"installed ({error})", INSTALL_HINT) from None
        engine = py_nanotts.NanoTTS()
        try:  # the voice files are inside the package: a broken install shows here, not on a reply
            with _LOCK:
                engine.speak("a", voice=self.options.voice or "en-US")
        except (RuntimeError, ValueError) as error:
            raise MissingDependencyError(f"py-nanotts is installed but cannot speak: {error}",
                                         "reinstall it: pip install --force-reinstall py-nanotts") from error
        self._engine = engine

    @property
    def sample_rate(self) -> int:
        return SAMPLE_RATE

    def supports(self, language: str) -> bool | None:
        if self.options.voice:
            return None  # a pinned voice speaks whatever the voice map sends it
        return pico_voice(language) is not None

    def voice_for(self, language: str) -> str | None:
        return self.options.voice or pico_voice(language, self.options.english)

    def synthesize(self, text: str, language: str) -> Iterator[AudioChunk]:
        text = clean_text(text)
        if not text:
            return
        voice = self.voice_for(language)
        if voice is None:
            raise NoVoiceError(language, "Pico speaks de, en, es, fr and it; map this language to another "
                                         "voice (e.g. {backend: espeak})")
        if self._engine is None:
            self.load()
        o = self.options
        # Pico's own defaults unless changed: the binding adds a markup tag for each value it gets.
        settings = {name: value for name, value in (("speed", o.speed), ("pitch", o.pitch), ("volume", o.volume))
                    if value != 1.0}
        for piece in pieces(text):
            try:
                with _LOCK:
                    pcm = self._engine.speak(piece, voice=voice, **settings)
            except (RuntimeError, ValueError, MemoryError) as error:
                raise StageError("tts", f"pico voice {voice} failed on {piece[:40]!r}: {error}") from error
            samples = np.frombuffer(pcm[: len(pcm) // 2 * 2], dtype="<i2").astype(np.float32) / 32768.0
            if samples.size:
                yield AudioChunk(samples, SAMPLE_RATE)


# ----------------------------------------------------------------------------- the model (assistant models)

def model_entry(o: PicoOptions, stage: str) -> ModelEntry:
    """Pico's voices are inside the py-nanotts package: present when it is installed."""
    import importlib.util
    from pathlib import Path

    spec = importlib.util.find_spec("py_nanotts")
    where = str(Path(spec.origin).parent / "lang") if spec and spec.origin else "py-nanotts (not installed)"
    return ModelEntry(stage, "pico", getattr(o, "voice", None) or "pico", where, spec is not None, True, None)
