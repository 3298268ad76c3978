"""``stt: openai`` — Whisper on another machine: any server with OpenAI's ``POST /v1/audio/transcriptions``
(vLLM serving Whisper, faster-whisper servers such as speaches, OpenAI itself, ``assistant serve``).

Each utterance goes up as a 16 kHz mono 16-bit WAV (multipart ``file``) with ``model``,
``language``, ``prompt`` and ``temperature``, asking for ``verbose_json``: that answer carries the
spoken language and, per segment, ``no_speech_prob`` and ``avg_logprob``, so the no-speech guard
works as with a local Whisper. A server that rejects ``verbose_json`` is asked again in ``json``
(once; remembered for the session); then there is no language and no no-speech evidence.
With ``task: translate`` the text comes from ``/v1/audio/translations``; the spoken language is
detected with a transcription request first (a translation reports only "english").

**Language probabilities.** These servers report only the language they detected, not Whisper's
distribution over all of them. ``detect_language`` therefore returns ``{detected: 1.0}``: the
language policy's short-clip rule still applies, but restricting detection to the household's
``language.languages`` cannot pick the runner-up (there is none); set ``stt.language`` to fix
the language when that matters. Detection costs no extra request: the detecting request's
transcript is kept and reused when the turn is transcribed in the language it found.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections import OrderedDict
from typing import Any, Literal

from pydantic import Field, field_validator

from assistant.core.errors import StageError
from assistant.core.model_entry import ModelEntry, remote_entry
from assistant.core.options import BackendOptions
from assistant.core.remote import api_key, http_error, translate_errors, validate_base_url
from assistant.core.types import AudioChunk, Segment, Transcript
from assistant.language.names import WHISPER_LANGUAGES, code_of
from assistant.stt.base import weighted_logprob
from assistant.stt.whisper_options import WhisperDecodingOptions, begin_transcription, check_language_code

log = logging.getLogger(__name__)
SAMPLE_RATE = 16000
KEEP_RESULTS = 8  # detection results kept for the transcription that follows (a few concurrent turns)


class OpenAISTTOptions(BackendOptions):
    backend: Literal["openai"] = Field(
        "openai", description="Transcribe on a server with OpenAI's /v1/audio/transcriptions "
                              "(vLLM, speaches/faster-whisper-server, OpenAI, `assistant serve`).")
    base_url: str = Field(
        "http://localhost:8000/v1",
        description="API root, up to and including /v1 (vLLM, speaches and `assistant serve`: "
                    "http://HOST:8000/v1; OpenAI: https://api.openai.com/v1).")
    model: str = Field(
        "whisper-1", description="Model name as the server knows it (OpenAI: whisper-1; vLLM: the "
                                 "served model, e.g. openai/whisper-large-v3; speaches: e.g. "
                                 "Systran/faster-whisper-small).")
    api_key_env: str | None = Field(
        None, description="NAME of the environment variable that holds the API key (e.g. "
                          "OPENAI_API_KEY); the key itself never goes in the YAML. None: no key sent.")
    language: str = Field("auto", description=(
        "`auto` lets the server detect the language of every turn; a code (en, de, ...) fixes it."))
    task: Literal["transcribe", "translate"] = Field(
        "transcribe", description="`translate` posts to /audio/translations: English text whatever "
                                  "language is spoken.")
    initial_prompt: str | dict[str, str] | None = Field(None, description=(
        "Sent as `prompt`: text that primes the decoder (names, spelling, style); or a map from "
        "language code to prompt, with `*` for any other language."))
    temperature: float = Field(0.0, ge=0.0, le=1.0, description="Sampling temperature; 0 = greedy.")
    response_format: Literal["verbose_json", "json"] = Field(
        "verbose_json", description="`verbose_json` returns the language and the no-speech evidence; "
                                    "`json` (text only) for servers without it (asked automatically "
                                    "when a server rejects verbose_json).")
    timeout_s: float = Field(30.0, gt=0.0, description="Seconds to wait for a connection and for the answer.")
    extra_body: dict[str, Any] = Field(
        default_factory=dict, description="Extra form fields sent with every request, e.g. vLLM's "
                                          "{top_p: 0.9} or speaches' {vad_filter: true}.")

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        return validate_base_url(value)

    @field_validator("language")
    @classmethod
    def _language(cls, v: str) -> str:
        v = v.strip().lower()
        return v if v == "auto" else check_language_code(v)

    @field_validator("initial_prompt")
    @classmethod
    def _prompt_keys(cls, v: Any) -> Any:
        return WhisperDecodingOptions._prompt_keys(v)

    def prompt_for(self, language: str | None) -> str | None:
        return WhisperDecodingOptions.prompt_for(self, language)  # type: ignore[arg-type]


class OpenAISTT:
    sample_rate = SAMPLE_RATE

    def __init__(self, options: OpenAISTTOptions | None = None, **overrides: Any) -> None:
        if options is None:
            options = OpenAISTTOptions(**overrides)
        elif overrides:
            options = options.model_copy(update=overrides)
        self.options = options
        self.detect_url = f"{options.base_url}/audio/transcriptions"
        self.url = f"{options.base_url}/audio/translations" if options.task == "translate" else self.detect_url
        self.response_format = options.response_format
        self._key: str | None = None
        self._client: Any = None
        self._lock = threading.Lock()
        self._recent: OrderedDict[tuple[bytes, str | None], Transcript] = OrderedDict()

    def load(self) -> None:
        """Reads the API key and opens a connection pool; the server need not be up yet."""
        if self._client is not None:
            return
        import httpx

        self._key = api_key("stt", self.options.api_key_env)
        self._client = httpx.Client(timeout=httpx.Timeout(self.options.timeout_s))

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def languages(self) -> tuple[str, ...]:
        """What the server's model knows is not discoverable: every Whisper language is allowed."""
        return tuple(WHISPER_LANGUAGES)

    # -- the protocol ------------------------------------------------------------------------

    def detect_language(self, audio: AudioChunk) -> dict[str, float]:
        """``{language: 1.0}`` for the language the server detected (see the module's note)."""
        audio = audio.resampled(SAMPLE_RATE)
        # A translation reports the language it wrote (English): ask for a transcription instead.
        transcript = self._request(audio, None, self.options.prompt_for(None), self.detect_url)
        if not transcript.language:
            raise StageError("stt", f"the STT server at {self.detect_url} does not report the spoken language "
                                    f"(it answered in `{self.response_format}` format)",
                             "set stt.language to the language spoken, or use a server with verbose_json")
        if self.options.task == "translate":
            return {transcript.language: 1.0}
        with self._lock:
            self._recent[(_fingerprint(audio), transcript.language)] = transcript
            while len(self._recent) > KEEP_RESULTS:
                self._recent.popitem(last=False)
        return {transcript.language: 1.0}

    def transcribe(self, audio: AudioChunk, *, language: str | None = None,
                   initial_prompt: str | None = None) -> Transcript:
        audio, language, empty = begin_transcription(self, audio, language)
        if empty is not None:
            return empty
        if language is not None and initial_prompt is None \
                and self.options.prompt_for(language) == self.options.prompt_for(None):
            with self._lock:  # detect_language already transcribed this audio in this language
                cached = self._recent.pop((_fingerprint(audio), language), None)
            if cached is not None:
                return cached
        prompt = initial_prompt if initial_prompt is not None else self.options.prompt_for(language)
        return self._request(audio, language, prompt, self.url)

    # -- HTTP --------------------------------------------------------------------------------

    def _request(self, audio: AudioChunk, language: str | None, prompt: str | None, url: str) -> Transcript:
        from assistant.audio.io import wav_bytes

        self.load()
        o = self.options
        form: dict[str, Any] = {k: str(v) for k, v in o.extra_body.items()}
        form.update(model=o.model, temperature=str(o.temperature))
        translate = url != self.detect_url
        if language and not translate:  # /audio/translations takes no language
            form["language"] = language
        if prompt:
            form["prompt"] = prompt
        files = {"file": ("utterance.wav", wav_bytes(audio), "audio/wav")}
        headers = {"Authorization": f"Bearer {self._key}"} if self._key else {}
        with translate_errors("stt", "STT", url, o.timeout_s):
            response = self._post(url, form, files, headers)
            if response.status_code in (400, 422) and self.response_format == "verbose_json" \
                    and "verbose_json" in response.text:
                log.warning("the STT server at %s does not offer verbose_json: asking for json from now on "
                            "(no language detection, no no-speech probabilities)", url)
                self.response_format = "json"
                response = self._post(url, form, files, headers)
        if response.status_code >= 400:
            raise http_error("stt", "STT", url, response, self._key, o.api_key_env, o.model)
        return self._parse(response, url, language, audio.duration, "translate" if translate else "transcribe")

    def _post(self, url: str, form: dict[str, Any], files: dict[str, Any], headers: dict[str, str]) -> Any:
        data = dict(form, response_format=self.response_format)
        return self._client.post(url, data=data, files=files, headers=headers)

    def _parse(self, response: Any, url: str, language: str | None, duration: float, task: str) -> Transcript:
        try:
            body = response.json()
            text = body["text"]
            if not isinstance(text, str):
                raise TypeError
        except (ValueError, KeyError, TypeError):
            kind = response.headers.get("content-type", "?")
            raise StageError("stt", f"the STT server at {url} sent an unexpected answer ({kind}): "
                                    f"{response.text[:120]!r}",
                             "is stt.base_url an OpenAI-compatible API root (ending in /v1)?") from None
        reported = body.get("language")
        detected = code_of(reported) if isinstance(reported, str) and reported else None
        if reported and detected is None:
            log.warning("the STT server at %s reported an unknown language %r", url, reported)
        segments = tuple(_segment(s) for s in body.get("segments") or () if isinstance(s, dict))
        spoken = tuple(s for s in segments if s.text)
        if segments and segments[0].no_speech_probability is not None:
            no_speech = segments[0].no_speech_probability  # the first window's, as the local backends
        else:
            no_speech = 0.0 if text.strip() else 1.0
        return Transcript(
            text=text.strip(), language=language or detected or "", language_probability=None,
            no_speech_probability=no_speech, avg_logprob=weighted_logprob(spoken), segments=spoken,
            task=task, duration=float(body.get("duration") or duration))


def _segment(s: dict[str, Any]) -> Segment:
    def number(key: str) -> float | None:
        value = s.get(key)
        return float(value) if isinstance(value, (int, float)) else None

    return Segment(start=number("start") or 0.0, end=number("end") or 0.0, text=str(s.get("text", "")).strip(),
                   avg_logprob=number("avg_logprob"), no_speech_probability=number("no_speech_prob"),
                   compression_ratio=number("compression_ratio"))


def _fingerprint(audio: AudioChunk) -> bytes:
    return hashlib.blake2b(audio.samples.tobytes(), digest_size=16).digest()


# ----------------------------------------------------------------------------- the model (assistant models)

def model_entry(o: OpenAISTTOptions, stage: str) -> ModelEntry:
    """Served by another program: nothing here to check or fetch."""
    return remote_entry(o, stage)
