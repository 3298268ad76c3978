"""``stt: faster-whisper`` — Whisper on CTranslate2: the same model, about 4× faster on CPU at int8.

A drop-in for ``stt: whisper``: the same options where they mean the same thing, the same
language detection (all probabilities, on the same log-mel), the same ``Transcript`` out. What
differs is the model format (a CTranslate2 directory, e.g. ``Systran/faster-whisper-small``)
and ``compute_type`` in place of ``fp16``.

ctranslate2/faster_whisper are imported inside methods only (config validation stays light).
"""

from __future__ import annotations

import copy
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator

from assistant.core import hub
from assistant.core.errors import MissingDependencyError, ModelNotFoundError, StageError
from assistant.core.model_entry import ModelEntry, entry, hf_snapshot
from assistant.core.options import Device
from assistant.core.threads import budget
from assistant.core.types import AudioChunk, Segment, Transcript
from assistant.language.names import WHISPER_LANGUAGES
from assistant.stt.base import weighted_logprob
from assistant.stt.whisper import SAMPLE_RATE
from assistant.stt.whisper_options import (
    WhisperDecodingOptions,
    begin_transcription,
    encoder_frames,
    short_window_first,
    spoken,
)

log = logging.getLogger(__name__)

#: ``faster_whisper.available_models()`` → converted repositories, without importing it
#: (tests check it still matches the installed faster-whisper).
MODEL_REPOS: dict[str, str] = {
    "tiny.en": "Systran/faster-whisper-tiny.en",
    "tiny": "Systran/faster-whisper-tiny",
    "base.en": "Systran/faster-whisper-base.en",
    "base": "Systran/faster-whisper-base",
    "small.en": "Systran/faster-whisper-small.en",
    "small": "Systran/faster-whisper-small",
    "medium.en": "Systran/faster-whisper-medium.en",
    "medium": "Systran/faster-whisper-medium",
    "large-v1": "Systran/faster-whisper-large-v1",
    "large-v2": "Systran/faster-whisper-large-v2",
    "large-v3": "Systran/faster-whisper-large-v3",
    "large": "Systran/faster-whisper-large-v3",
    "distil-large-v2": "Systran/faster-distil-whisper-large-v2",
    "distil-medium.en": "Systran/faster-distil-whisper-medium.en",
    "distil-small.en": "Systran/faster-distil-whisper-small.en",
    "distil-large-v3": "Systran/faster-distil-whisper-large-v3",
    "distil-large-v3.5": "distil-whisper/distil-large-v3.5-ct2",
    "large-v3-turbo": "mobiuslabsgmbh/faster-whisper-large-v3-turbo",
    "turbo": "mobiuslabsgmbh/faster-whisper-large-v3-turbo",
}
MODEL_NAMES = tuple(MODEL_REPOS)
N_SAMPLES = 30 * SAMPLE_RATE  # one Whisper window
TEXT_CTX = 448  # decoder positions (prompt + generated tokens)

ComputeType = Literal["auto", "int8", "int8_float32", "int8_float16", "int8_bfloat16",
                      "float16", "bfloat16", "float32"]


class FasterWhisperOptions(WhisperDecodingOptions):
    """Load-time settings of faster-whisper (CTranslate2), plus decoding defaults for every turn."""

    backend: Literal["faster-whisper"] = "faster-whisper"
    model: str = Field("small", description=(
        "Model name (" + ", ".join(MODEL_NAMES) + "), fetched once from its converted Hugging Face "
        "repository (e.g. Systran/faster-whisper-small); a CTranslate2 repository id; or a local "
        "directory converted with ct2-transformers-converter."))
    device: Device = Field("auto", description="`auto`: CUDA when CTranslate2 sees a GPU, else CPU.")
    compute_type: ComputeType = Field("auto", description=(
        "Weight/compute type. `auto`: int8 on CPU (fastest there), float16 on CUDA; float32 is the "
        "exact (slowest) choice. The model is converted at load time if stored differently."))
    cpu_threads: int = Field(0, ge=0, description=(
        "Threads per transcription on CPU; 0: one per available core (CTranslate2's own default, 4, "
        "over- or under-subscribes most machines)."))
    num_workers: int = Field(1, ge=1, description=(
        "Transcriptions that can run in parallel from different threads (each needs its own memory)."))
    download_root: str | None = Field(None, description=(
        "Hugging Face cache directory for named models; empty: the standard HF cache ($HF_HOME/hub)."))
    best_of: int | None = Field(None, ge=1, description=(
        "Candidates sampled at temperatures above 0; empty: 5."))
    vad_filter: bool = Field(False, description=(
        "Drop non-speech stretches with Silero VAD before decoding (the pipeline's own VAD "
        "usually did this already)."))
    exact_detection: bool = Field(False, description=(
        "Detect the language on the audio padded with silence, exactly as the whisper backend "
        "does (the same probabilities; one more encoder pass per turn). Off: detect on the window "
        "being decoded, as faster-whisper itself does, and reuse that encoder pass (about a third "
        "less STT time for a short utterance on CPU)."))
    @field_validator("model")
    @classmethod
    def _model_name_or_path(cls, v: str) -> str:
        if v in MODEL_REPOS or "/" in v or os.sep in v or v.startswith(("~", ".")):
            return v  # repo ids and paths are checked at load, where the error can name the cache
        raise ValueError(f"unknown faster-whisper model '{v}' (valid: {', '.join(MODEL_NAMES)}; "
                         "or a Hugging Face repository id, or a local CTranslate2 directory)")


class DecodeProbe:
    """Stands in for the CTranslate2 model during one transcription. It does four things, and
    keeps what it saw (``first``, ``sequences``, ``encoded``, ``language``) for ``run``'s caller:

    - **exact token budget**: CTranslate2 caps Whisper decoding at ``min(max_length / 2,
      max_length - prompt)`` (CTranslate2 issue #1856) while faster-whisper passes
      ``max_length = prompt + max_new_tokens``, so 48 tokens after a 3-token prompt gave 25.
      openai-whisper's ``sample_len`` means "at most N": ``max_length`` is raised just enough
      for the cap to be N, so both backends (and their benchmarks) decode the same amount;
    - **first window's result**: faster-whisper drops windows it judges silent and their
      no-speech probability with them (the ``whisper`` backend keeps it with a probe too);
    - **encoder reuse**: when language detection already encoded the first window, that
      encoder output is returned instead of computing it again;
    - **utterance-length encoding** (``audio_ctx: utterance``): faster-whisper pads every window
      to 3000 mel frames; with ``frames`` set, only the first ``frames`` are encoded (CTranslate2's
      encoder takes any even length up to 3000, and decoding cross-attends to what it gets).

    One instance per transcription, so concurrent calls never see each other's state.
    """

    def __init__(self, model: Any, encoded: "EncodedWindow | None" = None, frames: int | None = None) -> None:
        self._model = model
        self._encoded = encoded
        self._frames = frames
        self.first: Any = None
        self.sequences: list[list[int]] = []  # best hypothesis of every decode (token counts, in order)
        self.encoded: EncodedWindow | None = None  # the last window it encoded (a retry reuses it)
        self.language: str | None = None  # set by ``run``: the language of the decode kept

    def __getattr__(self, name: str) -> Any:
        return getattr(self._model, name)

    def encode(self, features: Any, to_cpu: bool = False) -> Any:
        import numpy as np

        if self._frames is not None:
            features = crop_features(features, self._frames)
        cached = self._encoded
        if cached is not None and np.array_equal(np.asarray(features)[0], cached.features):
            return cached.output
        output = self._model.encode(features, to_cpu=to_cpu)
        self.encoded = EncodedWindow(np.array(np.asarray(features)[0]), output)
        return output

    def generate(self, features: Any, prompts: list[list[int]], *, max_length: int = TEXT_CTX,
                 **kwargs: Any) -> Any:
        prompt = max(len(p) for p in prompts)
        results = self._model.generate(features, prompts, max_length=ct2_max_length(prompt, max_length - prompt),
                                       **kwargs)
        if self.first is None and results:  # fallback retries of a window share its no-speech value
            self.first = results[0]
        if results and results[0].sequences_ids:
            self.sequences.append(list(results[0].sequences_ids[0]))
        return results


def _text(segment: Any) -> str:
    return segment.text


def _start(segment: Any) -> float:
    return float(segment.start)


def _checks(raw: list[Any]) -> list[tuple[float, float, float]]:
    """Each segment's (compression ratio, avg log-probability, no-speech probability)."""
    return [(x.compression_ratio, x.avg_logprob, x.no_speech_prob) for x in raw]


def ct2_max_length(prompt: int, tokens: int) -> int:
    """CTranslate2's ``max_length`` that lets Whisper decode up to ``tokens`` after a ``prompt``-token
    prompt: it caps decoding at ``min(max_length / 2, max_length - prompt)`` (CTranslate2 #1856)."""
    tokens = max(tokens, 1)
    return min(TEXT_CTX, max(2 * tokens, prompt + tokens))


def crop_features(features: Any, frames: int) -> Any:
    """The first ``frames`` mel frames of a [batch, n_mels, 3000] window (a CTranslate2
    StorageView on the CPU, as faster-whisper builds it, or an array)."""
    import ctranslate2
    import numpy as np

    array = np.asarray(features)
    if array.shape[-1] <= frames:
        return features
    return ctranslate2.StorageView.from_array(np.ascontiguousarray(array[..., :frames]))


def with_margin(samples: Any, frames: int) -> Any:
    """The utterance followed by silence up to ``frames`` mel frames. Audio silence (its log-mel
    is Whisper's floor, as openai-whisper pads), not faster-whisper's zero-valued log-mel: with
    zeros right after the speech, Whisper base repeated whole sentences into the margin (FLEURS
    WER 23 % against 19 %)."""
    import numpy as np

    return np.concatenate([samples, np.zeros(max(0, frames * 160 - len(samples)), np.float32)])


@dataclass(frozen=True)
class EncodedWindow:
    """A window's log-mel and its encoder output, kept so decoding can skip a second pass."""

    features: Any  # np.ndarray [n_mels, 3000] (fewer frames with audio_ctx: utterance)
    output: Any  # ctranslate2.StorageView
    samples: Any = None  # the audio decoding will be given (the utterance and its margin) ...
    mel: Any = None  # ... and faster-whisper's log-mel of it, so decoding need not compute it again


class KnownFeatures:
    """Stands in for faster-whisper's feature extractor during one decode whose log-mel was
    already computed by language detection (the same audio, the same call): returns it instead of
    computing it again (about 60-100 ms for a 10-15 s question on 2 busy cores)."""

    def __init__(self, extractor: Any, mel: Any) -> None:
        self._extractor = extractor
        self._mel = mel

    def __getattr__(self, name: str) -> Any:
        return getattr(self._extractor, name)

    def __call__(self, waveform: Any, padding: int = 160, chunk_length: int | None = None) -> Any:
        if padding == 160 and chunk_length is None:  # what detection computed
            return self._mel
        return self._extractor(waveform, padding=padding, chunk_length=chunk_length)


class FasterWhisperSTT:
    sample_rate = SAMPLE_RATE

    def __init__(self, options: FasterWhisperOptions) -> None:
        self.options = options
        self.device: str | None = None
        self.compute_type: str | None = None
        self.model_path: str | None = None
        self.load_seconds: float | None = None
        self._model: Any = None  # faster_whisper.WhisperModel
        self._detected: EncodedWindow | None = None  # the last detect_language's encoder pass

    # -- loading -----------------------------------------------------------------------------

    def cache_dir(self) -> Path:
        from huggingface_hub import constants

        return Path(self.options.download_root).expanduser() if self.options.download_root \
            else Path(constants.HF_HUB_CACHE)

    def load(self) -> None:
        if self._model is not None:
            return
        import time

        from faster_whisper import WhisperModel

        t0 = time.monotonic()
        self.device = self._resolve_device()
        self.compute_type = self._resolve_compute_type()
        self.model_path = self._resolve_model()
        threads = self.options.cpu_threads or budget().stt  # assistant.core.threads: the per-engine budget
        try:
            self._model = WhisperModel(self.model_path, device=self.device, compute_type=self.compute_type,
                                       cpu_threads=threads, num_workers=self.options.num_workers)
        except (RuntimeError, ValueError, OSError) as e:  # CTranslate2 reports a bad model.bin as RuntimeError
            if "out of memory" in str(e).lower():
                raise ModelNotFoundError(f"not enough {self.device} memory to load faster-whisper "
                                     f"'{self.options.model}'",
                                     "choose a smaller stt.model, compute_type: int8, or device: cpu") from e
            if self.device == "cuda" and any(w in str(e).lower() for w in ("cublas", "cudnn", "cuda", "library")):
                # CTranslate2's wheels load CUDA 12's cuBLAS and cuDNN 9 at run time; torch may bring others.
                raise MissingDependencyError(f"faster-whisper cannot use the GPU: {str(e)[:300]}",
                                     "install CUDA 12 cuBLAS and cuDNN 9 (pip install nvidia-cublas-cu12 "
                                     "'nvidia-cudnn-cu12==9.*'), or set stt.device: cpu") from e
            raise ModelNotFoundError(
                f"cannot load faster-whisper model from {self.model_path}: {type(e).__name__}: {str(e)[:300]}",
                "the directory is incomplete or not a CTranslate2 Whisper model; convert it again "
                "(see README) or fetch it again") from e
        self.load_seconds = time.monotonic() - t0
        log.info("faster-whisper %s loaded on %s (%s, %d threads)", self.options.model, self.device,
                 self.compute_type, threads)
        if self.options.warmup:
            self._warmup()

    def _resolve_device(self) -> str:
        # CTranslate2 has its own CUDA build: ask it, not torch (which may be a CPU build).
        import ctranslate2

        gpus = ctranslate2.get_cuda_device_count()
        if self.options.device == "cuda" and gpus == 0:
            raise MissingDependencyError("device 'cuda' was configured but CTranslate2 sees no CUDA GPU",
                                 "set stt.device: auto or cpu, or install CUDA 12 and cuDNN 9 (see README)")
        if self.options.device == "auto":
            return "cuda" if gpus > 0 else "cpu"
        return self.options.device

    def _resolve_compute_type(self) -> str:
        import ctranslate2

        wanted = self.options.compute_type
        if wanted == "auto":
            return "float16" if self.device == "cuda" else "int8"
        supported = ctranslate2.get_supported_compute_types(self.device)
        if wanted not in supported:
            fallback = "float32" if self.device == "cpu" else "float16"
            log.warning("stt.compute_type %s is not supported on this %s (supported: %s): using %s",
                        wanted, self.device, ", ".join(sorted(supported)), fallback)
            return fallback
        return wanted

    def _resolve_model(self) -> str:
        name = self.options.model
        local = Path(name).expanduser()
        if local.is_dir():
            if not (local / "model.bin").is_file():
                raise ModelNotFoundError(
                    f"{local} is not a CTranslate2 model directory (no model.bin)",
                    "convert a Whisper model with `ct2-transformers-converter --model openai/whisper-small "
                    "--output_dir DIR --copy_files tokenizer.json preprocessor_config.json`, "
                    "or set stt.model to a name (" + ", ".join(MODEL_NAMES[:6]) + ", ...)")
            return str(local)
        if name not in MODEL_REPOS and hub.looks_like_path(name):
            raise ModelNotFoundError(f"faster-whisper model directory not found: {local}",
                                     "set stt.model to an existing CTranslate2 directory or to a model name "
                                     f"({', '.join(MODEL_NAMES)})")
        return self._download(name)

    def _download(self, name: str) -> str:
        # The same offline rules as the transformers LLM: HF_HUB_OFFLINE, or a hub that does not
        # answer a quick probe, means "cache only" so an offline machine fails in seconds.
        from faster_whisper.utils import download_model

        repo = MODEL_REPOS.get(name, name)
        offline = hub.is_offline()
        reachable = not offline and hub.hub_reachable()
        why = "" if reachable else ("HF_HUB_OFFLINE is set" if offline else "the hub is unreachable")
        cache = self.cache_dir()
        try:
            return download_model(name, local_files_only=not reachable, cache_dir=self.options.download_root)
        except Exception as e:  # huggingface_hub raises a family of errors (not found, offline, auth)
            fix = (f"run `hf download {repo}` on a connected machine and copy its HF cache to {cache}, "
                   f"or set stt.model to a local CTranslate2 directory")
            if why:
                if offline:
                    fix += "; or unset HF_HUB_OFFLINE to let it download"
                raise ModelNotFoundError(
                    f"faster-whisper model '{name}' ({repo}) is not in the Hugging Face cache at {cache} ({why})",
                    fix) from e
            first = (str(e).strip().splitlines() or [type(e).__name__])[0]
            raise ModelNotFoundError(f"cannot fetch faster-whisper model '{name}' ({repo}): {first}",
                                     f"check the name or repository id (cache: {cache}), or {fix}") from e

    def _warmup(self) -> None:
        import numpy as np

        # One encoder pass and a few decoder steps: enough to allocate every buffer.
        model = self._model
        features = self._window_features(np.zeros(SAMPLE_RATE, np.float32))
        frames = encoder_frames(self.options, SAMPLE_RATE)  # the window a short question gets
        encoded = model.encode(np.ascontiguousarray(features[:, :frames]) if frames else features)
        language = "en" if self.options.language == "auto" else self.options.language
        prompt = [model.hf_tokenizer.token_to_id("<|startoftranscript|>")]
        if model.model.is_multilingual:
            prompt += [model.hf_tokenizer.token_to_id(f"<|{language}|>"),
                       model.hf_tokenizer.token_to_id(f"<|{self.options.task}|>")]
        model.model.generate(encoded, [prompt], beam_size=1, max_length=2 * 4 + len(prompt))

    # -- inference ---------------------------------------------------------------------------

    @property
    def is_multilingual(self) -> bool:
        self.load()
        return bool(self._model.model.is_multilingual)

    def languages(self) -> tuple[str, ...]:
        """Codes of the languages the loaded model knows (99, or 100 from large-v3 on)."""
        if not self.is_multilingual:
            return ("en",)
        return tuple(WHISPER_LANGUAGES)[: self._model.model.num_languages]

    def _window_features(self, samples: Any) -> Any:
        """Log-mel of the first 30 s padded with silence: what openai-whisper detects language on."""
        import numpy as np

        window = np.zeros(N_SAMPLES, np.float32)
        window[: min(len(samples), N_SAMPLES)] = samples[:N_SAMPLES]
        return self._model.feature_extractor(window, padding=0)[:, :3000]

    def _first_window(self, samples: Any, mel: Any = None) -> Any:
        """Log-mel of the first window exactly as faster-whisper decodes it (mel padded with zeros);
        ``mel``: faster-whisper's log-mel of ``samples`` when it is already computed."""
        from faster_whisper.audio import pad_or_trim

        features = mel if mel is not None else self._model.feature_extractor(samples)
        return pad_or_trim(features[:, : min(3000, features.shape[-1] - 1)])

    def detect(self, samples: Any) -> tuple[dict[str, float], EncodedWindow | None]:
        """Language probabilities (best first), and the encoded first window when decoding can
        reuse it (``exact_detection`` off)."""
        import numpy as np

        if not self.is_multilingual:
            return {"en": 1.0}, None
        try:
            exact = self.options.exact_detection
            frames = encoder_frames(self.options, len(samples))
            audio, mel = samples, None
            if frames is not None:  # the window decoding will see: the utterance, then silence
                audio = with_margin(samples, frames)
                mel = self._model.feature_extractor(audio)
                features = np.ascontiguousarray(self._first_window(audio, mel)[:, :frames])
            elif exact:
                features = self._window_features(samples)
            else:
                mel = self._model.feature_extractor(audio)
                features = self._first_window(audio, mel)
            encoded = self._model.encode(features)
            pairs = self._model.model.detect_language(encoded)[0]
        except Exception as e:
            raise StageError("stt", f"faster-whisper language detection failed: {e}") from e
        probs = {token[2:-2]: float(p) for token, p in pairs}  # "<|en|>" → "en"
        probs = dict(sorted(probs.items(), key=lambda kv: kv[1], reverse=True))
        return probs, (None if exact else EncodedWindow(features, encoded, audio, mel))

    def detect_language(self, audio: AudioChunk) -> dict[str, float]:
        probs, encoded = self.detect(audio.resampled(SAMPLE_RATE).samples)
        # A turn detects, then transcribes in the language it chose: that decode reuses this
        # encoder pass (DecodeProbe checks the log-mel is the same, so another audio never does).
        self._detected = encoded
        return probs

    def detect_language_full(self, audio: AudioChunk) -> dict[str, float]:
        """Language probabilities on Whisper's whole 30 s window (the utterance padded with
        silence, as openai-whisper detects): a second look when the utterance's window is unsure."""
        self.load()
        if not self.is_multilingual:
            return {"en": 1.0}
        try:
            encoded = self._model.encode(self._window_features(audio.resampled(SAMPLE_RATE).samples))
            pairs = self._model.model.detect_language(encoded)[0]
        except Exception as e:
            raise StageError("stt", f"faster-whisper language detection failed: {e}") from e
        return dict(sorted(((token[2:-2], float(p)) for token, p in pairs), key=lambda kv: kv[1], reverse=True))

    def transcribe(self, audio: AudioChunk, *, language: str | None = None,
                   initial_prompt: str | None = None, alternatives: tuple[str, ...] = ()) -> Transcript:
        """``alternatives``: languages to decode in, in order, when the decode in ``language``
        fails Whisper's checks (an unsure detection); the Transcript says which was used."""
        audio, language, empty = begin_transcription(self, audio, language)
        if empty is not None:
            return empty
        task = self.options.task

        probability, top, encoded = None, {}, self._detected
        if language is None:
            probs, encoded = self.detect(audio.samples)
            language = next(iter(probs))
            probability, top = probs[language], dict(list(probs.items())[:5])
        prompt = initial_prompt if initial_prompt is not None else self.options.prompt_for(language)

        raw, probe = self.run(audio.samples, language=language, initial_prompt=prompt, encoded=encoded,
                              alternatives=tuple(a for a in alternatives if a != language and a in self.languages()))
        if probe.language is not None and probe.language != language:
            language = probe.language
            probability = top.get(language)
        if encoder_frames(self.options, len(audio.samples)) is not None:
            raw = spoken(raw, _text, _start, audio.duration)
        segments = tuple(
            Segment(start=float(s.start), end=float(s.end), text=s.text.strip(), avg_logprob=float(s.avg_logprob),
                    no_speech_probability=float(s.no_speech_prob), compression_ratio=float(s.compression_ratio))
            for s in raw if s.text.strip())
        no_speech = float(probe.first.no_speech_prob) if probe.first is not None else 1.0
        return Transcript(
            text="".join(s.text for s in raw).strip(), language=language, language_probability=probability,
            no_speech_probability=no_speech, avg_logprob=weighted_logprob(segments), segments=segments,
            language_probabilities=top, task=task, duration=audio.duration)

    def run(self, samples: Any, *, language: str, initial_prompt: str | None = None,
            encoded: EncodedWindow | None = None, alternatives: tuple[str, ...] = (),
            **overrides: Any) -> tuple[list[Any], DecodeProbe]:
        """faster-whisper's transcription with this backend's options, segments fully materialised.

        faster-whisper returns a lazy generator: decoding happens while it is iterated. Iterating
        here keeps the work inside the caller's (worker) thread and inside this error handling.
        ``overrides``: extra ``WhisperModel.transcribe`` arguments, over the options' (e.g. a fixed
        ``max_new_tokens``, as ``assistant bench --stages stt`` sets to compare backends; a ``temperature``
        given here is decoded as given, on the whole window, without the short-window-first
        schedule of ``audio_ctx: utterance``); ``encoded`` is the first window from ``detect``;
        ``alternatives``: languages to try when a decode in ``language`` fails Whisper's checks
        (``audio_ctx: utterance``). Returns the segments and the probe that saw the kept decode;
        ``probe.language`` is the language it was decoded in.
        """
        o = self.options
        frames = encoder_frames(o, len(samples))
        if frames is not None and "temperature" not in overrides:  # (a caller's temperature: as given)
            full_window: list[EncodedWindow | None] = [None]  # the 30 s window's encoder output, once
            duration = len(samples) / SAMPLE_RATE

            def prompt(lang: str) -> str | None:
                return initial_prompt if lang == language else self.options.prompt_for(lang)

            def short(frames: int, budget: int, lang: str) -> tuple[Any, list, list[int]]:
                raw, probe = self._decode(with_margin(samples, frames), frames, lang, prompt(lang), encoded,
                                          dict(overrides, temperature=self._temperatures()[:1],
                                               max_new_tokens=budget))
                # (a segment in the quiet tail, or only punctuation at the end, is dropped anyway:
                # its doubts fail nothing)
                kept = spoken(raw, _text, _start, duration)
                return (raw, probe), _checks(kept), [len(q) for q in probe.sequences]

            def full(lang: str, temperature: float, budget: int) -> tuple[Any, list, list[int]]:
                raw, probe = self._decode(samples, None, lang, prompt(lang), full_window[0],
                                          dict(overrides, temperature=[temperature], max_new_tokens=budget))
                full_window[0] = probe.encoded or full_window[0]
                return (raw, probe), _checks(raw), [len(q) for q in probe.sequences]

            (raw, probe), used = short_window_first(o, len(samples), short, full, (language, *alternatives))
            probe.language = used
            return raw, probe
        if frames is not None:
            samples = with_margin(samples, frames)
        return self._decode(samples, frames, language, initial_prompt, encoded, overrides)

    def _temperatures(self) -> list[float]:
        o = self.options
        return list(o.temperature) if isinstance(o.temperature, tuple) else [o.temperature]

    def _decode(self, samples: Any, frames: int | None, language: str, initial_prompt: str | None,
                encoded: EncodedWindow | None, overrides: dict[str, Any]) -> tuple[list[Any], DecodeProbe]:
        o = self.options
        temperatures = list(o.temperature) if isinstance(o.temperature, tuple) else [o.temperature]
        probe = DecodeProbe(self._model.model, encoded, frames)
        model = copy.copy(self._model)  # shallow: shares the loaded model; only .model differs
        model.model = probe
        if encoded is not None and encoded.mel is not None and _same_audio(encoded.samples, samples):
            model.feature_extractor = KnownFeatures(self._model.feature_extractor, encoded.mel)
        kwargs: dict[str, Any] = dict(
            language=language, task=o.task, beam_size=o.beam_size or 1, best_of=o.best_of or 5,
            temperature=temperatures, compression_ratio_threshold=o.compression_ratio_threshold,
            log_prob_threshold=o.logprob_threshold, no_speech_threshold=o.no_speech_threshold,
            condition_on_previous_text=o.condition_on_previous_text, initial_prompt=initial_prompt,
            max_new_tokens=o.sample_len, vad_filter=o.vad_filter)
        kwargs.update(overrides)
        try:
            segments, _info = model.transcribe(samples, **kwargs)
            return list(segments), probe
        except Exception as e:
            raise StageError("stt", f"faster-whisper failed on {len(samples) / SAMPLE_RATE:.1f} s of audio: "
                                    f"{type(e).__name__}: {e}") from e


def _same_audio(a: Any, b: Any) -> bool:
    import numpy as np

    return a is not None and len(a) == len(b) and bool(np.array_equal(a, b))


# ----------------------------------------------------------------------------- the model (assistant models)

def model_entry(o: FasterWhisperOptions, stage: str) -> ModelEntry:
    """A model name or hub id: its snapshot in the Hugging Face cache; else a CTranslate2 directory."""
    local = Path(o.model).expanduser()
    if local.is_dir() or (o.model not in MODEL_REPOS and hub.looks_like_path(o.model)):
        return entry(stage, "faster-whisper", o.model, local, (local / "model.bin").is_file(), True, None)
    repo = MODEL_REPOS.get(o.model, o.model)
    snap = hf_snapshot(repo, o.download_root, ("model.bin", "config.json"))
    return entry(stage, "faster-whisper", o.model, snap or Path(f"hf:{repo}"), snap is not None, False,
                 hub.hf_endpoint())


def fetch(e: ModelEntry, options: FasterWhisperOptions) -> str:
    from faster_whisper.utils import download_model

    return download_model(e.name, cache_dir=options.download_root)
