"""``stt: whisper`` — speech to text with openai-whisper.

torch and whisper are imported inside methods only: validating a config or building the CLI
must not pay their import time (1-2 s) or need them installed.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator

from assistant.core import hub
from assistant.core.errors import ModelNotFoundError, StageError
from assistant.core.model_entry import ModelEntry, entry
from assistant.core.options import Device, resolve_device
from assistant.core.types import AudioChunk, Segment, Transcript
from assistant.language.names import WHISPER_LANGUAGES
from assistant.stt.base import weighted_logprob
from assistant.stt.whisper_options import (
    WhisperDecodingOptions,
    begin_transcription,
    encoder_frames,
    short_window_first,
    spoken,
)

log = logging.getLogger(__name__)

#: ``whisper.available_models()`` without importing whisper (tests check it still matches).
MODEL_NAMES: tuple[str, ...] = (
    "tiny.en", "tiny", "base.en", "base", "small.en", "small", "medium.en", "medium",
    "large-v1", "large-v2", "large-v3", "large", "large-v3-turbo", "turbo",
)
SAMPLE_RATE = 16000


class WhisperOptions(WhisperDecodingOptions):
    """Load-time settings of openai-whisper, plus decoding defaults for every turn."""

    backend: Literal["whisper"] = "whisper"
    model: str = Field("small", description=(
        "Whisper model name (" + ", ".join(MODEL_NAMES) + "), downloaded on first use; "
        "or the path of a local .pt checkpoint."))
    device: Device = Field("auto", description="`auto`: CUDA when torch sees a GPU, else CPU.")
    fp16: bool | None = Field(None, description=(
        "Half precision; empty: on for CUDA, off for CPU (CPU can't)."))
    download_root: str | None = Field(None, description=(
        "Where named models are cached; empty: $XDG_CACHE_HOME/whisper or ~/.cache/whisper."))

    @field_validator("model")
    @classmethod
    def _model_name_or_path(cls, v: str) -> str:
        if v in MODEL_NAMES or v.endswith(".pt") or "/" in v or os.sep in v or v.startswith("~"):
            return v  # a path's existence is checked at load, where the error can name the cache
        raise ValueError(f"unknown whisper model '{v}' (valid: {', '.join(MODEL_NAMES)}; "
                         "or the path of a local .pt checkpoint)")


class _FirstWindowProbe:
    """Stands in for the model inside ``whisper.transcribe`` and keeps the first decode result.

    whisper drops windows it judges silent, and their no-speech probability with them; keeping
    the first result gives that probability without a second encoder pass. A wrapper (not a
    patched model) so concurrent calls on one model can't see each other's results.

    With ``frames`` set (``audio_ctx: utterance``) it also crops each 3000-frame window to its
    first ``frames`` mel frames, so the encoder processes only the utterance.
    """

    def __init__(self, model: Any, frames: int | None = None) -> None:
        self._model = model
        self._frames = frames
        self.first: Any = None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._model, name)

    def decode(self, mel: Any, options: Any) -> Any:
        if self._frames is not None:
            mel = mel[..., : self._frames]
        result = self._model.decode(mel, options)
        if self.first is None:  # fallback retries of a window share its no-speech probability
            self.first = result
        return result


class WhisperSTT:
    sample_rate = SAMPLE_RATE

    def __init__(self, options: WhisperOptions) -> None:
        self.options = options
        self.device: str | None = None
        self.fp16 = False
        self._model: Any = None

    # -- loading -----------------------------------------------------------------------------

    def cache_dir(self) -> Path:
        """Where whisper.load_model keeps named models (same rule as whisper's own)."""
        if self.options.download_root:
            return Path(self.options.download_root).expanduser()
        return Path(os.getenv("XDG_CACHE_HOME", Path.home() / ".cache")) / "whisper"

    def load(self) -> None:
        if self._model is not None:
            return
        self.device = resolve_device(self.options.device)
        self.fp16 = self.options.fp16 if self.options.fp16 is not None else self.device == "cuda"
        if self.fp16 and self.device == "cpu":
            log.warning("stt.fp16 is on but the device is the CPU, which can't run fp16: using fp32")
            self.fp16 = False
        name = self.options.model
        self._model = self._load_named(name) if name in MODEL_NAMES else self._load_path(name)
        if self.options.audio_ctx == "utterance":
            allow_short_windows(self._model)
        log.info("whisper %s loaded on %s (%s)", name, self.device, "fp16" if self.fp16 else "fp32")
        if self.options.warmup:
            self._warmup()

    def _load_path(self, name: str) -> Any:
        import whisper

        path = Path(name).expanduser()
        if not path.is_file():
            raise ModelNotFoundError(
                f"whisper checkpoint not found: {path}",
                f"set stt.model to an existing .pt file or to a model name ({', '.join(MODEL_NAMES)})")
        try:
            return whisper.load_model(str(path), device=self.device)
        except Exception as e:  # torch.load / state-dict errors come in many types
            self._raise_if_oom(e)
            raise ModelNotFoundError(
                f"cannot load whisper checkpoint {path}: {type(e).__name__}: {str(e)[:300]}",
                "the file is corrupt or not an openai-whisper checkpoint; copy or download it again") from e

    def _load_named(self, name: str) -> Any:
        import urllib.error

        import whisper

        root = self.cache_dir()
        url = getattr(whisper, "_MODELS", {}).get(name)
        fix = (f"on a connected machine run `python -c \"import whisper; whisper.load_model('{name}')\"` "
               f"and copy {Path(url).name if url else name + '.pt'} into {root}, "
               f"or set stt.model to the path of a local .pt checkpoint")
        # whisper downloads with no timeout; a quick probe first makes an offline or firewalled
        # machine fail in seconds instead of hanging on the connection.
        if url and not (root / Path(url).name).is_file():
            why = hub.unreachable_reason(url)
            if why:
                raise ModelNotFoundError(
                    f"whisper model '{name}' is not in {root} and could not be downloaded ({why})", fix)
        try:
            return whisper.load_model(name, device=self.device, download_root=str(root))
        except (urllib.error.URLError, TimeoutError, ConnectionError) as e:
            reason = getattr(e, "reason", e)
            raise ModelNotFoundError(
                f"whisper model '{name}' is not in {root} and could not be downloaded ({reason})", fix) from e
        except Exception as e:  # checksum mismatch, unreadable cache, corrupt file
            self._raise_if_oom(e)
            raise ModelNotFoundError(
                f"cannot load whisper model '{name}' from {root}: {type(e).__name__}: {str(e)[:300]}",
                f"delete the file in {root} so it is downloaded again, or {fix}") from e

    def _raise_if_oom(self, error: Exception) -> None:
        if "out of memory" in str(error).lower():
            raise ModelNotFoundError(f"not enough {self.device} memory to load whisper '{self.options.model}'",
                                 "choose a smaller stt.model or set stt.device: cpu") from error

    def _warmup(self) -> None:
        import numpy as np
        import whisper

        mel = self._mel(np.zeros(SAMPLE_RATE, np.float32))
        language = "en" if self.options.language == "auto" else self.options.language
        self._model.decode(mel, whisper.DecodingOptions(
            language=language, task=self.options.task, sample_len=4, fp16=self.fp16))

    # -- inference ---------------------------------------------------------------------------

    def languages(self) -> tuple[str, ...]:
        """Codes of the languages the loaded model knows (99, or 100 from large-v3 on)."""
        self.load()
        if not self._model.is_multilingual:
            return ("en",)
        return tuple(WHISPER_LANGUAGES)[: self._model.num_languages]

    def _mel(self, samples: Any, full_window: bool = False) -> Any:
        """Log-mel of the first 30 s, padded (only the utterance's frames with ``audio_ctx:
        utterance``), on the model's device and dtype."""
        import whisper

        mel = whisper.log_mel_spectrogram(whisper.pad_or_trim(samples), self._model.dims.n_mels,
                                          device=self._model.device)
        frames = None if full_window else encoder_frames(self.options, len(samples))
        if frames is not None:
            mel = mel[..., :frames]
        return mel.half() if self.fp16 else mel

    def detect_language_full(self, audio: AudioChunk) -> dict[str, float]:
        """Language probabilities on the whole 30 s window, whatever ``audio_ctx`` says: a second
        look when the utterance's window is unsure."""
        return self.detect_language(audio, full_window=True)

    def detect_language(self, audio: AudioChunk, full_window: bool = False) -> dict[str, float]:
        self.load()
        if not self._model.is_multilingual:
            return {"en": 1.0}
        from whisper.decoding import detect_language

        try:
            _, probs = detect_language(self._model, self._mel(audio.resampled(SAMPLE_RATE).samples, full_window))
        except Exception as e:
            raise StageError("stt", f"whisper language detection failed: {e}") from e
        return dict(sorted(probs.items(), key=lambda kv: kv[1], reverse=True))

    def transcribe(self, audio: AudioChunk, *, language: str | None = None,
                   initial_prompt: str | None = None, alternatives: tuple[str, ...] = ()) -> Transcript:
        """``alternatives``: languages to decode in, in order, when the decode in ``language``
        fails Whisper's checks (an unsure detection); the Transcript says which was used."""
        audio, language, empty = begin_transcription(self, audio, language)
        if empty is not None:
            return empty
        task = self.options.task

        probability, top = None, {}
        if language is None:
            probs = self.detect_language(audio)
            language = next(iter(probs))
            probability, top = probs[language], dict(list(probs.items())[:5])
        prompt = initial_prompt if initial_prompt is not None else self.options.prompt_for(language)

        alternatives = tuple(a for a in alternatives if a != language and a in self.languages())
        result, probe, used = self._run(audio, language, prompt, alternatives)
        if used != language:
            language, probability = used, top.get(used)
        text = result["text"]
        if encoder_frames(self.options, len(audio.samples)) is not None:
            kept = spoken(result["segments"], _text, _start, audio.duration)
            if len(kept) < len(result["segments"]):
                result["segments"], text = kept, "".join(s["text"] for s in kept)
        segments = tuple(
            Segment(start=float(s["start"]), end=float(s["end"]), text=s["text"].strip(),
                    avg_logprob=float(s["avg_logprob"]), no_speech_probability=float(s["no_speech_prob"]),
                    compression_ratio=float(s["compression_ratio"]))
            for s in result["segments"] if s["text"].strip())
        # The first window's value, whether whisper kept that window or dropped it as silence.
        no_speech = float(probe.first.no_speech_prob) if probe.first is not None else 1.0
        return Transcript(
            text=text.strip(), language=language, language_probability=probability,
            no_speech_probability=no_speech, avg_logprob=weighted_logprob(segments),
            segments=segments, language_probabilities=top, task=task, duration=audio.duration)

    def _run(self, audio: AudioChunk, language: str, prompt: str | None,
             alternatives: tuple[str, ...] = ()) -> tuple[dict, _FirstWindowProbe, str]:
        """The transcription, its probe and the language it was decoded in (``language``, or one
        of ``alternatives`` when the decode in ``language`` failed Whisper's checks)."""
        o = self.options
        frames = encoder_frames(o, len(audio.samples))
        if frames is None:
            return (*self._transcribe(audio, language, prompt, None, o.temperature, o.sample_len), language)
        first = o.temperature[0] if isinstance(o.temperature, tuple) else o.temperature

        def prompt_for(lang: str) -> str | None:
            return prompt if lang == language else o.prompt_for(lang)

        def short(frames: int, budget: int, lang: str) -> tuple[Any, list, list[int]]:
            result, probe = self._transcribe(audio, lang, prompt_for(lang), frames, first, budget)
            # (a segment in the quiet tail, or only punctuation at the end, is dropped anyway:
            # its doubts fail nothing)
            kept = {"segments": spoken(result["segments"], _text, _start, audio.duration)}
            return (result, probe), _checks(kept), [len(probe.first.tokens)] if probe.first is not None else []

        def full(lang: str, temperature: float, budget: int) -> tuple[Any, list, list[int]]:
            result, probe = self._transcribe(audio, lang, prompt_for(lang), None, temperature, budget)
            return (result, probe), _checks(result), [len(probe.first.tokens)] if probe.first is not None else []

        (result, probe), used = short_window_first(o, len(audio.samples), short, full, (language, *alternatives))
        return result, probe, used

    def _transcribe(self, audio: AudioChunk, language: str, prompt: str | None, frames: int | None,
                    temperature: Any, sample_len: int | None) -> tuple[dict, _FirstWindowProbe]:
        import whisper

        o = self.options
        probe = _FirstWindowProbe(self._model, frames)
        try:
            result = whisper.transcribe(
                probe, audio.samples, verbose=None, language=language, task=o.task, initial_prompt=prompt,
                beam_size=o.beam_size, best_of=o.best_of or 5, temperature=temperature, fp16=self.fp16,
                no_speech_threshold=o.no_speech_threshold, logprob_threshold=o.logprob_threshold,
                compression_ratio_threshold=o.compression_ratio_threshold,
                condition_on_previous_text=o.condition_on_previous_text, sample_len=sample_len)
        except Exception as e:
            raise StageError("stt", f"whisper failed on {audio.duration:.1f} s of audio: "
                                    f"{type(e).__name__}: {e}") from e
        return result, probe


def _text(segment: dict) -> str:
    return segment["text"]


def _start(segment: dict) -> float:
    return float(segment["start"])


def _checks(result: dict) -> list[tuple[float, float, float]]:
    """Each segment's (compression ratio, avg log-probability, no-speech probability)."""
    return [(s["compression_ratio"], s["avg_logprob"], s["no_speech_prob"]) for s in result["segments"]]


def allow_short_windows(model: Any) -> None:
    """Let openai-whisper's encoder take fewer than 3000 mel frames (``audio_ctx: utterance``).

    Its ``AudioEncoder.forward`` asserts the full 1500 positions; this replaces that one method
    on the loaded model with the same computation over the first N positional embeddings (what
    whisper.cpp's ``audio_ctx`` does). A full window gives exactly the same result as before.
    """
    import types

    import torch.nn.functional as F

    encoder = model.encoder

    def forward(self: Any, x: Any) -> Any:
        x = F.gelu(self.conv1(x))
        x = F.gelu(self.conv2(x))
        x = x.permute(0, 2, 1)
        n = x.shape[1]
        if n > self.positional_embedding.shape[0] or x.shape[2] != self.positional_embedding.shape[1]:
            raise ValueError(f"incorrect audio shape {tuple(x.shape)} for the encoder")
        x = (x + self.positional_embedding[:n]).to(x.dtype)
        for block in self.blocks:
            x = block(x)
        return self.ln_post(x)

    encoder.forward = types.MethodType(forward, encoder)


# ----------------------------------------------------------------------------- the model (assistant models)

# whisper's cache file names (from whisper._MODELS' URLs, without importing whisper)
_WHISPER_FILES = {"large": "large-v3", "turbo": "large-v3-turbo"}


def model_entry(o: WhisperOptions, stage: str) -> ModelEntry:
    """A model name: ``<download_root or ~/.cache/whisper>/<file>.pt`` from Whisper's host; else a path."""
    if o.model not in MODEL_NAMES:
        path = Path(o.model).expanduser()
        return entry(stage, "whisper", o.model, path, path.is_file(), True, None)
    root = Path(o.download_root).expanduser() if o.download_root else \
        Path(os.getenv("XDG_CACHE_HOME", Path.home() / ".cache")) / "whisper"
    path = root / f"{_WHISPER_FILES.get(o.model, o.model)}.pt"
    return entry(stage, "whisper", o.model, path, path.is_file(), False, hub.WHISPER_HOST)


def fetch(e: ModelEntry, options: WhisperOptions) -> str:
    import whisper

    url = whisper._MODELS[e.name]
    root = str(Path(e.location).parent)
    whisper._download(url, root, False)  # whisper's own download: progress bar, sha256 check
    return e.location
