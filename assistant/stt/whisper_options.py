"""Options both Whisper backends share (``whisper`` and ``faster-whisper``): the same names,
defaults and checks, so the two are interchangeable in YAML. Each backend's options class adds
its own load-time settings (model format, precision) and describes ``model``/``device``."""

from __future__ import annotations

import logging
import math
import time
from typing import Any, Callable, Literal, Sequence

from pydantic import Field, field_validator

from assistant.core.options import BackendOptions, Device
from assistant.language.names import WHISPER_LANGUAGES

HOP_LENGTH = 160  # Whisper's mel hop at 16 kHz
N_FRAMES = 3000  # mel frames in one 30 s window
#: the whisper CLI's default temperature schedule (openai-whisper transcribe.py: 0 to 1 by 0.2)
FALLBACK_TEMPERATURES = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)


def check_language_code(code: str) -> str:
    if code not in WHISPER_LANGUAGES:
        by_name = {name: c for c, name in WHISPER_LANGUAGES.items()}
        if code.lower() in by_name:
            raise ValueError(f"'{code}' is a language name; use its code '{by_name[code.lower()]}'")
        raise ValueError(f"unknown language '{code}' (use a code Whisper knows, e.g. en, de, es, fr, zh; "
                         "`assistant languages` lists them)")
    return code


class WhisperDecodingOptions(BackendOptions):
    # model/device come first in the YAML reference; each backend redefines them with its own text
    model: str = "small"
    device: Device = "auto"
    language: str = Field("auto", description=(
        "`auto` detects the language of every turn; a code (en, de, ...) fixes it."))
    task: Literal["transcribe", "translate"] = Field(
        "transcribe", description="`translate` gives English text whatever language is spoken.")
    initial_prompt: str | dict[str, str] | None = Field(None, description=(
        "Text that primes the decoder (names, spelling, style); or a map from language code to "
        "prompt, with `*` for any other language."))
    beam_size: int | None = Field(5, ge=1, description=(
        "Beams for beam search at temperature 0; empty: greedy (faster on CPU)."))
    best_of: int | None = Field(None, ge=1, description=(
        "Candidates sampled at temperatures above 0; empty: 5 (the whisper CLI's default)."))
    temperature: float | tuple[float, ...] = Field(FALLBACK_TEMPERATURES, description=(
        "Sampling temperature; a list retries a window at the next one when it fails the thresholds "
        "below (the default, as the whisper CLI: a greedy or beam decode first, then sampling only for "
        "a window that loops or is unsure); a single 0.0 never retries (faster on random-weight test "
        "models, but a loop such as \"de la fin de la fin …\" goes through)."))
    no_speech_threshold: float = Field(0.6, ge=0, le=1, description=(
        "A window whose no-speech probability is above this (and whose avg log-probability is "
        "below logprob_threshold) is treated as silence."))
    logprob_threshold: float = Field(-1.0, description=(
        "Below this average log-probability a window is retried."))
    compression_ratio_threshold: float = Field(2.4, gt=0, description=(
        "Above this gzip compression ratio (repetitive text) a window is retried."))
    condition_on_previous_text: bool = Field(False, description=(
        "Prompt each 30 s window with the previous one's text (more consistent, but can loop)."))
    sample_len: int | None = Field(None, ge=1, le=224, description=(
        "Most tokens decoded per 30 s window; empty: 224."))
    warmup: bool = Field(False, description="Run one short decode at load so the first turn is not slower.")
    audio_ctx: Literal["full", "utterance"] = Field("utterance", description=(
        "`utterance`: the encoder processes only the utterance (plus `audio_ctx_margin_s` of "
        "silence), not Whisper's whole 30 s window, as whisper.cpp's `audio_ctx` does: a short "
        "question's STT about halves on a CPU, with the FLEURS WER within a point of the full "
        "window (docs/quality.md, \"Short utterances in Whisper\"). `full`: always the 30 s window Whisper "
        "was trained on. Audio longer than 30 s is always encoded in full windows."))
    audio_ctx_margin_s: float = Field(2.0, ge=0, le=30, description=(
        "With `audio_ctx: utterance`: seconds of silence encoded after the utterance. Whisper "
        "expects a quiet tail: on the FLEURS clips 2 s kept the WER of the full window, 1 s or less "
        "did not (words lost or repeated at the end)."))
    audio_ctx_min_s: float = Field(3.0, ge=0, le=30, description=(
        "With `audio_ctx: utterance`: the shortest window encoded, so a one-word command "
        "(\"stop\") still has room for Whisper to place it."))
    retry_budget: float = Field(1.0, ge=0, description=(
        "With `audio_ctx: utterance`: when the first decode fails Whisper's checks, the retries "
        "(the next candidate language, a window with a second more margin, the full window, "
        "temperature sampling) may take this many "
        "times a normal decode of the utterance (the first decode's time per token × the tokens "
        "its length needs), so one utterance costs about (1 + this) normal turns; then the least "
        "failed result so far is kept. 0: no retries."))
    retry_max_s: float = Field(10.0, ge=0, description=(
        "Hard cap on the retries' time in seconds, whatever `retry_budget` allows."))

    @field_validator("language")
    @classmethod
    def _language(cls, v: str) -> str:
        v = v.strip().lower()
        return v if v == "auto" else check_language_code(v)

    @field_validator("initial_prompt")
    @classmethod
    def _prompt_keys(cls, v: Any) -> Any:
        if isinstance(v, dict):
            for key in v:
                if key != "*":
                    check_language_code(key)
        return v

    @field_validator("temperature")
    @classmethod
    def _temperature(cls, v: Any) -> Any:
        values = v if isinstance(v, tuple) else (v,)
        if not values or any(t < 0 for t in values):
            raise ValueError("temperature must be a number >= 0 or a non-empty list of them")
        return v

    def prompt_for(self, language: str) -> str | None:
        """The configured initial prompt for ``language`` (a map's entry, its ``*``, or the string)."""
        if isinstance(self.initial_prompt, dict):
            return self.initial_prompt.get(language, self.initial_prompt.get("*"))
        return self.initial_prompt


def encoder_frames(options: "WhisperDecodingOptions", n_samples: int) -> int | None:
    """Log-mel frames the encoder should see for ``n_samples`` of 16 kHz audio, or None for the
    whole 30 s window (``audio_ctx: full``, or audio longer than one window). Even, because the
    encoder's second convolution halves the frames (100 mel frames/s → 50 positions/s)."""
    if options.audio_ctx == "full" or n_samples > N_FRAMES * HOP_LENGTH:
        return None
    seconds = max(n_samples / 16000 + options.audio_ctx_margin_s, options.audio_ctx_min_s)
    return min(N_FRAMES, 2 * math.ceil(seconds * 50))


#: With ``audio_ctx: utterance``, a segment starting this close to the audio's end (or after it,
#: in the silence margin) is Whisper writing into the quiet tail ("... una sociedad. y"): dropped.
TAIL_S = 0.2


def in_tail(start: float, duration: float) -> bool:
    """Whether a segment starting at ``start`` s lies in the tail of ``duration`` s of audio."""
    return start >= duration - TAIL_S


def spoken(segments: Sequence[Any], text: Callable[[Any], str], start: Callable[[Any], float],
           duration: float) -> list[Any]:
    """The segments of an ``audio_ctx: utterance`` decode of ``duration`` s of audio that count
    (``text``/``start``: a segment's text and start time): none starting in the quiet tail
    (``in_tail``), and none after the last one that holds a word (a letter or a digit). Whisper
    sometimes writes "..." into the silence after the question, unsure (FLEURS fr-000: avg
    log-probability -1.6): that failed Whisper's checks and decoded the whole sentence again,
    for the same words. Punctuation alone carries no word, so dropping it changes no word."""
    kept = [s for s in segments if not in_tail(start(s), duration)]
    while kept and not any(c.isalnum() for c in text(kept[-1])):
        kept.pop()
    return kept


def utterance_token_budget(n_samples: int) -> int:
    """Tokens an utterance of ``n_samples`` (16 kHz) can need with ``audio_ctx: utterance``
    (fast speech, timestamps, a language of long tokens: 15 per second, plus 20): more is a loop."""
    return 20 + math.ceil(15 * n_samples / 16000)


def window_failed(checks: list[tuple[float, float, float]], lengths: list[int], options: "WhisperDecodingOptions",
                  budget: int) -> bool:
    """Whether a one-temperature decode of the utterance's window fails Whisper's own checks,
    the ones that would start its temperature fallback: ``checks`` holds each segment's
    (compression ratio, avg log-probability, no-speech probability); too repetitive, too unsure
    (unless it is silence), or a decode that reached the token ``budget`` (``lengths``: tokens of
    each decode). Such a window is decoded again on the full 30 s window with the whole fallback
    schedule: sampling retries of a short window loop again (14 s for one FLEURS sentence)."""
    own_cap = options.sample_len is not None and options.sample_len <= budget
    if not own_cap and any(n >= budget for n in lengths):  # (reaching the user's sample_len is no loop)
        return True
    for ratio, logprob, no_speech in checks:
        if ratio > options.compression_ratio_threshold:
            return True
        if logprob < options.logprob_threshold and no_speech <= options.no_speech_threshold:
            return True
    return False


def normal_tokens(n_samples: int) -> int:
    """Tokens a normal utterance of ``n_samples`` (16 kHz) needs, timestamps included: Whisper
    base decoded 3.2 (English) to 4.6 (French) per second of the FLEURS clips, at most 5.9 for
    one clip (README, "Cost per language"), so 6 per second plus the prompt's and end's few."""
    return 8 + math.ceil(6 * n_samples / 16000)


def failure(checks: list[tuple[float, float, float]], lengths: list[int], options: "WhisperDecodingOptions",
            budget: int) -> float:
    """How badly a decode fails Whisper's checks (0: it passes): the compression ratio and the
    log-probability beyond their thresholds, plus 1 for a decode that ran out of tokens. The least
    failed of several tries is the one kept when the time for retries runs out."""
    score = 0.0
    own_cap = options.sample_len is not None and options.sample_len <= budget
    if not own_cap and any(n >= budget for n in lengths):
        score += 1.0
    for ratio, logprob, no_speech in checks:
        score += max(0.0, ratio - options.compression_ratio_threshold)
        if no_speech <= options.no_speech_threshold:
            score += max(0.0, options.logprob_threshold - logprob)
    return score


Decode = tuple[Any, list[tuple[float, float, float]], list[int]]


def short_window_first(options: "WhisperDecodingOptions", n_samples: int,
                       short: Callable[[int, int, str], Decode],
                       full: Callable[[str, float, int], Decode],
                       languages: Sequence[str],
                       clock: Callable[[], float] = time.perf_counter) -> tuple[Any, str]:
    """The ``audio_ctx: utterance`` policy both backends follow. ``short(frames, budget,
    language)`` decodes the utterance's window once (first temperature, ``budget`` tokens);
    ``full(language, temperature, budget)`` decodes the whole 30 s window at one temperature.
    Both return their result with the checks and lengths ``window_failed`` reads.

    ``languages``: the language chosen, then the candidates to try when a decode fails the
    checks (an unsure language decision). The first decode that passes is returned with its
    language. Retries go: the utterance's window in each next candidate, the window one second
    wider, then the full window at each temperature of the schedule, in the language of the
    least failed try so far. They are
    bounded by time: ``retry_budget`` × a normal decode (the first one's time per token × the
    tokens the utterance's length needs), at most ``retry_max_s``; each retry gets only the
    tokens that fit in what is left (at the first decode's cost per token) and none is started
    when that is less than half what the utterance needs. When the time is spent the least failed result
    so far is returned, never a loop."""
    log = logging.getLogger(__name__)
    budget = min(options.sample_len or 224, utterance_token_budget(n_samples))
    frames = encoder_frames(options, n_samples)
    assert frames is not None, "short_window_first is for audio of one window"
    t0 = clock()
    result, checks, lengths = short(frames, budget, languages[0])
    first_s = clock() - t0
    if not window_failed(checks, lengths, options, budget):
        return result, languages[0]
    needed = min(normal_tokens(n_samples), budget)
    per_token = first_s / max(max(lengths, default=0), needed, 1)
    allowed = min(options.retry_budget * per_token * needed, options.retry_max_s)
    deadline = clock() + allowed
    best = (failure(checks, lengths, options, budget), 0, result, languages[0])
    tries: list[tuple[str, str, float]] = [("short", lang, 0.0) for lang in languages[1:]]
    # a second of margin more: where Whisper wrote into the quiet tail (repeating the sentence,
    # FLEURS es-005), a longer tail usually ends it; about the cost of the first decode
    wider = min(N_FRAMES, frames + 100)
    if wider > frames:
        tries.append(("wider", "", 0.0))
    temperatures = options.temperature if isinstance(options.temperature, tuple) else (options.temperature,)
    tries += [("full", "", t) for t in temperatures]
    # seconds per token for each kind of try; the full window's encoder pass costs about its
    # length's share more (measured once it has run)
    cost = {"short": per_token, "wider": per_token * wider / frames, "full": per_token * N_FRAMES / frames}
    order = 1
    for kind, language, temperature in tries:
        left = deadline - clock()
        tokens = min(budget if kind != "full" else (options.sample_len or 224),
                     int(left / cost[kind]) if cost[kind] > 0 else budget)
        if tokens < needed // 2:  # too few to say the utterance: the retry could not pass
            log.info("%s: no time left for a retry (%.2f s allowed); keeping the least failed decode",
                     options.backend, allowed)
            break
        language = language or best[3]
        log.info("%s: the decode failed Whisper's checks; trying %s in %s at temperature %.1f",
                 options.backend, {"short": "the utterance window", "wider": "a wider utterance window",
                                   "full": "the full window"}[kind], language, temperature)
        started = clock()
        if kind != "full":
            result, checks, lengths = short(frames if kind == "short" else wider, tokens, language)
        else:
            result, checks, lengths = full(language, temperature, tokens)
        # the full window's encoder pass and sampling cost more per token than the first decode
        cost[kind] = max(cost[kind], (clock() - started) / max(max(lengths, default=0), needed))
        if not window_failed(checks, lengths, options, tokens):
            return result, language
        score = failure(checks, lengths, options, tokens)
        if score < best[0]:
            best = (score, order, result, language)
        order += 1
    return best[2], best[3]


def begin_transcription(stt: Any, audio: Any, language: str | None) -> tuple[Any, str | None, Any]:
    """The start both backends' ``transcribe`` share: 16 kHz audio, the language to use (the
    argument, else a fixed ``language`` option, checked against the model), and — for audio too
    short to hold a single frame — the empty, no-speech Transcript to return at once."""
    from assistant.core.types import Transcript

    stt.load()
    audio = audio.resampled(16000)
    if language is None and stt.options.language != "auto":
        language = stt.options.language
    if language is not None:
        language = _usable_language(stt, language)
    if len(audio.samples) < HOP_LENGTH:  # not one mel frame: nothing to decode, no speech by definition
        return audio, language, Transcript("", language or "", None, no_speech_probability=1.0,
                                           task=stt.options.task, duration=audio.duration)
    return audio, language, None


def _usable_language(stt: Any, language: str) -> str:
    """``language`` if the loaded model knows it; English-only models transcribe as English."""
    import logging

    known = stt.languages()
    name = f"{stt.options.backend} {stt.options.model}"
    if known == ("en",):
        if language != "en":
            logging.getLogger(__name__).warning(
                "%s is English-only: transcribing as English, not '%s'", name, language)
        return "en"
    if language not in known:
        from assistant.core.errors import StageError

        raise StageError("stt", f"{name} does not know language '{language}'", f"use one of: {', '.join(known)}")
    return language
