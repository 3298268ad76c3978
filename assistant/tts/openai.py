"""``tts: openai`` — a voice on another machine: any server with OpenAI's ``POST /v1/audio/speech``
(OpenAI, Kokoro-FastAPI, openedai-speech, ``assistant serve``).

``wav`` (the default) and ``pcm`` are read as a stream: audio chunks are yielded while the server
is still sending, so playback starts with the first ones. ``mp3``, ``opus``, ``aac`` and ``flac``
are decoded with ffmpeg once the whole answer is in. One voice per options block: map languages
to different voices (or servers) under ``tts.voices``.
"""

from __future__ import annotations

import logging
from typing import Any, Iterator, Literal

import numpy as np
from pydantic import Field, field_validator

from assistant.core.errors import AudioFileError, StageError
from assistant.core.model_entry import ModelEntry, remote_entry
from assistant.core.options import BackendOptions
from assistant.core.remote import api_key, http_error, translate_errors, validate_base_url
from assistant.core.types import AudioChunk

log = logging.getLogger(__name__)
MIN_CHUNK_S = 0.1  # smallest chunk yielded while streaming (fewer, larger writes to the speaker)
SECTION = "tts.voices.<language>"  # where these options live in the YAML (or tts.fallback)


class OpenAITTSOptions(BackendOptions):
    backend: Literal["openai"] = Field(
        "openai", description="Speak with a server that has OpenAI's /v1/audio/speech (OpenAI, "
                              "Kokoro-FastAPI, openedai-speech, `assistant serve`).")
    base_url: str = Field(
        "http://localhost:8880/v1",
        description="API root, up to and including /v1 (Kokoro-FastAPI: http://localhost:8880/v1; "
                    "openedai-speech and `assistant serve`: http://HOST:8000/v1; OpenAI: "
                    "https://api.openai.com/v1).")
    model: str = Field("tts-1", description="Model name as the server knows it (OpenAI: tts-1, tts-1-hd, "
                                            "gpt-4o-mini-tts; Kokoro-FastAPI: kokoro).")
    voice: str = Field("alloy", description="Voice name as the server knows it (OpenAI: alloy, nova, ...; "
                                            "Kokoro: af_heart, ...).")
    api_key_env: str | None = Field(
        None, description="NAME of the environment variable that holds the API key (e.g. "
                          "OPENAI_API_KEY); the key itself never goes in the YAML. None: no key sent.")
    response_format: Literal["wav", "pcm", "mp3", "opus", "aac", "flac"] = Field(
        "wav", description="Audio format asked for. `wav` and `pcm` stream (playback starts with the "
                           "first chunk); the others are decoded once complete.")
    sample_rate: int = Field(24000, ge=8000, le=96000, description=(
        "Rate of `pcm` answers (raw samples carry none; OpenAI and Kokoro send 24000), and the rate "
        "compressed formats are decoded to. `wav` answers state their own."))
    speed: float | None = Field(None, ge=0.25, le=4.0,
                                description="Speaking speed, 0.25 to 4; none: the server's (1.0).")
    instructions: str | None = Field(None, description=(
        "How to speak (tone, accent, pace), for models that take it (gpt-4o-mini-tts)."))
    languages: list[str] | None = Field(None, description=(
        "Languages this voice speaks, for choosing a fallback voice; none: trust the voice map."))
    timeout_s: float = Field(30.0, gt=0.0, description=(
        "Seconds to wait for a connection, for the first audio, and between pieces of audio."))
    extra_body: dict[str, Any] = Field(
        default_factory=dict, description="Extra request fields merged into the JSON body, e.g. "
                                          "Kokoro-FastAPI's {lang_code: e}.")

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        return validate_base_url(value)


class OpenAITTS:
    def __init__(self, options: OpenAITTSOptions | None = None, **overrides: Any) -> None:
        if options is None:
            options = OpenAITTSOptions(**overrides)
        elif overrides:
            options = options.model_copy(update=overrides)
        self.options = options
        self.url = f"{options.base_url}/audio/speech"
        self._key: str | None = None
        self._client: Any = None

    @property
    def sample_rate(self) -> int:
        return self.options.sample_rate  # wav chunks carry the rate their header states

    def load(self) -> None:
        """Reads the API key and opens a connection pool; the server need not be up yet."""
        if self._client is not None:
            return
        import httpx

        self._key = api_key(SECTION, self.options.api_key_env)
        self._client = httpx.Client(timeout=httpx.Timeout(self.options.timeout_s))

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def supports(self, language: str) -> bool | None:
        return None if self.options.languages is None else language in self.options.languages

    def _body(self, text: str) -> dict[str, Any]:
        o = self.options
        body: dict[str, Any] = {"model": o.model, "input": text, "voice": o.voice,
                                "response_format": o.response_format}
        if o.speed is not None:
            body["speed"] = o.speed
        if o.instructions:
            body["instructions"] = o.instructions
        body.update(o.extra_body)
        return body

    def synthesize(self, text: str, language: str) -> Iterator[AudioChunk]:
        if not text.strip():
            return
        self.load()
        o = self.options
        headers = {"Authorization": f"Bearer {self._key}"} if self._key else {}
        produced = False
        with translate_errors("tts", "TTS", self.url, o.timeout_s, SECTION):
            # Leaving the with-block (end, error, or gen.close() on barge-in) closes the response.
            with self._client.stream("POST", self.url, json=self._body(text), headers=headers) as response:
                if response.status_code >= 400:
                    response.read()
                    raise http_error("tts", "TTS", self.url, response, self._key, o.api_key_env, o.model, SECTION)
                kind = response.headers.get("content-type", "").split(";")[0].strip().lower()
                if kind.startswith(("application/json", "text/")):
                    response.read()
                    raise StageError("tts", f"the TTS server at {self.url} answered with {kind}, not audio: "
                                            f"{response.text[:120]!r}",
                                     "is base_url an OpenAI-compatible API root (ending in /v1)?")
                if o.response_format in ("wav", "pcm"):
                    reader = WavStream() if o.response_format == "wav" else PcmStream(o.sample_rate)
                    try:
                        for chunk in _batched(reader.feed(piece) for piece in response.iter_bytes()):
                            produced = True
                            yield chunk
                    except ValueError as e:  # WavStream: not a WAV, or a format it can't read
                        raise StageError("tts", f"the TTS server at {self.url} sent unreadable audio: {e}",
                                         "try response_format: pcm or mp3") from e
                    reader.finish(self.url)
                else:
                    chunk = self._decode(response.read())
                    produced = len(chunk.samples) > 0
                    yield chunk
        if not produced:
            raise StageError("tts", f"the TTS server at {self.url} sent no audio for {len(text)} characters "
                                    f"(voice '{o.voice}')")

    def _decode(self, data: bytes) -> AudioChunk:
        from assistant.audio.io import decode_bytes

        if not data:
            return AudioChunk(np.zeros(0, np.float32), self.options.sample_rate)
        try:
            return decode_bytes(data, self.options.sample_rate, f"the {self.options.response_format} audio "
                                                                 f"from the TTS server at {self.url}")
        except AudioFileError as e:
            raise StageError("tts", e.message, "try response_format: wav") from e


def _batched(pieces: Iterator[AudioChunk | None]) -> Iterator[AudioChunk]:
    """Join the small chunks a stream delivers into chunks of at least MIN_CHUNK_S."""
    pending: list[AudioChunk] = []
    for chunk in pieces:
        if chunk is None or not len(chunk.samples):
            continue
        pending.append(chunk)
        if sum(len(c.samples) for c in pending) >= MIN_CHUNK_S * chunk.sample_rate:
            yield AudioChunk.concat(pending)
            pending = []
    if pending:
        yield AudioChunk.concat(pending)


class PcmStream:
    """Raw 16-bit little-endian mono samples at a known rate, split anywhere by the network."""

    def __init__(self, rate: int) -> None:
        self.rate = rate
        self._odd = b""

    def feed(self, data: bytes) -> AudioChunk | None:
        data = self._odd + data
        whole = len(data) // 2 * 2
        self._odd = data[whole:]
        if not whole:
            return None
        return AudioChunk(np.frombuffer(data[:whole], "<i2").astype(np.float32) / 32768.0, self.rate)

    def finish(self, url: str) -> None:
        if self._odd:
            log.debug("the TTS server at %s sent an odd byte at the end", url)


class WavStream(PcmStream):
    """A WAV file read as it arrives. Streaming servers can't know the length up front, so the
    RIFF and data sizes are ignored (often 0 or 0xFFFFFFFF): the data runs to the end."""

    def __init__(self) -> None:
        super().__init__(0)
        self._header = b""
        self._width = 2
        self._float = False
        self._channels = 1
        self._in_data = False

    def feed(self, data: bytes) -> AudioChunk | None:
        if self._in_data:
            return self._samples(data)
        self._header += data
        h = self._header
        if len(h) < 12:
            return None
        if h[:4] != b"RIFF" or h[8:12] != b"WAVE":
            raise ValueError("not a WAV file")
        pos = 12
        while pos + 8 <= len(h):
            chunk_id, size = h[pos:pos + 4], int.from_bytes(h[pos + 4:pos + 8], "little")
            body = pos + 8
            if chunk_id == b"data":
                if not self.rate:
                    raise ValueError("the WAV has no fmt chunk before its data")
                self._header, self._in_data = b"", True
                return self._samples(h[body:])
            if body + size > len(h):
                return None  # wait for the rest of this chunk
            if chunk_id == b"fmt ":
                tag = int.from_bytes(h[body:body + 2], "little")
                self._channels = int.from_bytes(h[body + 2:body + 4], "little")
                bits = int.from_bytes(h[body + 14:body + 16], "little")
                if tag == 0xFFFE and size >= 26:  # WAVE_FORMAT_EXTENSIBLE: the sub-format's tag
                    tag = int.from_bytes(h[body + 24:body + 26], "little")
                if (tag, bits) not in ((1, 16), (3, 32)) or self._channels < 1:
                    raise ValueError(f"unsupported WAV format (tag {tag}, {bits} bits); "
                                     "16-bit PCM or 32-bit float expected")
                self._width, self._float = bits // 8, tag == 3
                self.rate = int.from_bytes(h[body + 4:body + 8], "little")
            pos = body + size + (size & 1)
        return None

    def _samples(self, data: bytes) -> AudioChunk | None:
        data = self._odd + data
        frame = self._width * self._channels
        whole = len(data) // frame * frame
        self._odd = data[whole:]
        if not whole:
            return None
        dtype = "<f4" if self._float else "<i2"
        x = np.frombuffer(data[:whole], dtype).astype(np.float32)
        if not self._float:
            x /= 32768.0
        if self._channels > 1:
            x = x.reshape(-1, self._channels).mean(axis=1)
        return AudioChunk(x, self.rate)

    def finish(self, url: str) -> None:
        if not self._in_data and self._header:  # nothing at all is reported as "no audio"
            raise StageError("tts", f"the TTS server at {url} sent an incomplete WAV header "
                                    f"({len(self._header)} bytes, no data chunk)")


# ----------------------------------------------------------------------------- the model (assistant models)

def model_entry(o: OpenAITTSOptions, stage: str) -> ModelEntry:
    """Served by another program: nothing here to check or fetch."""
    return remote_entry(o, stage)
