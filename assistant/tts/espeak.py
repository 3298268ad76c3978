"""eSpeak NG voices: robotic but instant, no model files, about 130 languages.

Each call runs the ``espeak-ng`` program once (13-21 ms per sentence here), text on stdin, a WAV
on stdout. Useful as the fallback voice for languages no neural voice covers.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from typing import Iterator, Literal

import numpy as np
from pydantic import Field

from assistant.core.errors import ConfigError, MissingDependencyError, NoVoiceError, StageError
from assistant.core.model_entry import ModelEntry
from assistant.core.options import BackendOptions
from assistant.core.types import AudioChunk

INSTALL_HINT = "install it: apt-get install espeak-ng (Debian/Ubuntu), brew install espeak-ng (macOS)"

# Whisper language codes that espeak-ng (1.51) spells differently. Whisper's other codes are
# espeak-ng's own; those espeak-ng lacks (e.g. jw Javanese, tl Tagalog, ln, sn, yo) are unsupported.
WHISPER_TO_ESPEAK = {
    "zh": "cmn",  # Whisper's "zh" is Mandarin; espeak-ng's "zh" would also match Cantonese
    "no": "nb",  # espeak-ng has Norwegian Bokmål only ...
    "nn": "nb",  # ... which is the closest it has for Nynorsk too
    "jw": "jv",  # Whisper's non-standard code for Javanese
    "iw": "he",
    "in": "id",
}


class EspeakOptions(BackendOptions):
    backend: Literal["espeak"] = "espeak"
    voice: str | None = Field(
        None,
        description="espeak-ng voice (e.g. 'en-us', 'de', 'fr+f3'); unset: the voice of each reply's language",
    )
    rate: int = Field(170, ge=80, le=500, description="speaking rate in words per minute")
    pitch: int = Field(50, ge=0, le=99, description="pitch, 0 to 99 (espeak-ng's default is 50)")
    executable: str = Field("espeak-ng", description="the espeak-ng program (a name on PATH or a path)")


def parse_voices(listing: str) -> set[str]:
    """Language codes from ``espeak-ng --voices``: each voice's language and its other languages."""
    codes: set[str] = set()
    for line in listing.splitlines()[1:]:  # the first line is the column header
        fields = line.split()
        if len(fields) >= 2:
            codes.add(fields[1].lower())
            codes.update(code.lower() for code in re.findall(r"\(([^\s()]+)\s+\d+\)", line))
    return codes


def parse_wav(data: bytes) -> AudioChunk:
    """espeak-ng's 16-bit mono WAV. Read by hand: streamed to a pipe, its size fields are bogus."""
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise ValueError("espeak-ng's output is not a WAV file")
    rate, pos = None, 12
    while pos + 8 <= len(data):
        chunk_id, size = data[pos:pos + 4], int.from_bytes(data[pos + 4:pos + 8], "little")
        body = pos + 8
        if chunk_id == b"fmt ":
            channels = int.from_bytes(data[body + 2:body + 4], "little")
            rate = int.from_bytes(data[body + 4:body + 8], "little")
            bits = int.from_bytes(data[body + 14:body + 16], "little")
            if channels != 1 or bits != 16:
                raise ValueError(f"unexpected espeak-ng WAV format: {channels} channels, {bits} bits")
        elif chunk_id == b"data":
            if rate is None:
                raise ValueError("espeak-ng's WAV has no fmt chunk before its data")
            pcm = data[body:]  # to the end, whatever the header says
            pcm = pcm[: len(pcm) // 2 * 2]
            samples = np.frombuffer(pcm, dtype="<i2").astype(np.float32) / 32768.0
            return AudioChunk(samples, rate)
        pos = body + size + (size & 1)
    raise ValueError("espeak-ng's WAV has no data chunk")


class EspeakTTS:
    def __init__(self, options: EspeakOptions | None = None) -> None:
        self.options = options or EspeakOptions()
        self._program: str | None = None
        self._languages: set[str] | None = None

    def load(self) -> None:
        program = shutil.which(self.options.executable)
        if program is None:
            raise MissingDependencyError(
                f"the espeak TTS backend needs the program '{self.options.executable}', which was not found",
                INSTALL_HINT,
            )
        listing = self._run([program, "--voices"], b"", "list its voices")
        if self.options.voice:  # a wrong voice name fails here, at start-up, not on the first reply
            try:
                self._run([program, "-v", self.options.voice, "-q", "--stdin"], b"a", "load the voice")
            except StageError as error:
                raise ConfigError([f"tts.voice: espeak-ng can't use voice '{self.options.voice}': "
                                   f"{error.message}"], "espeak-ng --voices lists the voices") from error
        self._program = program
        self._languages = parse_voices(listing.decode("utf-8", "replace"))

    @property
    def sample_rate(self) -> int:
        return 22050  # espeak-ng's native rate; each chunk carries the rate its WAV states

    @property
    def languages(self) -> set[str]:
        """espeak-ng language codes this installation has (after ``load()``)."""
        return set(self._languages or ())

    def espeak_language(self, language: str) -> str | None:
        """The espeak-ng code for a Whisper (or BCP-47-like) code; None if espeak-ng lacks it."""
        if self._languages is None:
            self.load()
        code = language.strip().lower().replace("_", "-")
        primary = code.split("-")[0]
        for candidate in (WHISPER_TO_ESPEAK.get(code), code, WHISPER_TO_ESPEAK.get(primary), primary):
            if candidate and candidate in self._languages:
                return candidate
        return None

    def supports(self, language: str) -> bool | None:
        if self.options.voice:
            return None  # a pinned voice speaks whatever the voice map sends it
        return self.espeak_language(language) is not None

    def synthesize(self, text: str, language: str) -> Iterator[AudioChunk]:
        if not text.strip():
            return
        if self._program is None:
            self.load()
        voice = self.options.voice or self.espeak_language(language)
        if voice is None:
            raise NoVoiceError(language, "espeak-ng has no voice for it; set tts voice explicitly "
                                         "(espeak-ng --voices lists them) or map the language to another voice")
        # Text goes on stdin (--stdin: read to the end, not line by line), so a leading "-" is
        # never taken for an option; -b 1 says it is UTF-8.
        command = [self._program, "-v", voice, "-s", str(self.options.rate), "-p", str(self.options.pitch),
                   "-b", "1", "--stdin", "--stdout"]
        wav = self._run(command, text.encode("utf-8"), f"speak with voice '{voice}'")
        try:
            chunk = parse_wav(wav)
        except ValueError as error:
            raise StageError("tts", f"espeak-ng (voice '{voice}'): {error}") from error
        if len(chunk.samples):
            yield chunk

    def _run(self, command: list[str], stdin: bytes, what: str) -> bytes:
        try:
            done = subprocess.run(command, input=stdin, capture_output=True, timeout=60, check=False)
        except (OSError, subprocess.TimeoutExpired) as error:
            raise StageError("tts", f"espeak-ng could not {what}: {error}") from error
        if done.returncode != 0:
            message = done.stderr.decode("utf-8", "replace").strip() or f"exit status {done.returncode}"
            raise StageError("tts", f"espeak-ng could not {what}: {message}")
        return done.stdout


# ----------------------------------------------------------------------------- the model (assistant models)

def model_entry(o: EspeakOptions, stage: str) -> ModelEntry:
    """The espeak-ng program (its voices come with it): present when it is on the PATH."""
    program = shutil.which("espeak-ng") or shutil.which("espeak")
    return ModelEntry(stage, "espeak", getattr(o, "voice", None) or "espeak-ng",
                      program or "espeak-ng (not installed)", program is not None, True, None)
