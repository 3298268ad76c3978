"""The models a turn uses, shared by every session: STT, LLM, the voices, the reply-language
checker and the voice detector for recordings. Each method is one blocking stage call that turns
a backend's unexpected exception into a ``StageError``; sessions pass their own state in.

Every caller of a model goes through here, so every call takes that model's lock and the same
rules apply: a whole turn (``TurnEngine``), and the single-stage paths (``assistant transcribe`` /
``say``, ``POST /v1/audio/transcriptions`` / ``speech``) call the same ``hear`` and ``speak``."""

from __future__ import annotations

import inspect
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Callable, Iterator, Protocol, runtime_checkable

from assistant.audio.guard import SpeechGuard, is_silent, no_speech_reason, speech_ratio
from assistant.core.errors import AssistantError, StageError
from assistant.core.types import AudioChunk, LanguageDecision, Message, Transcript, Utterance
from assistant.language import policy as language_policy
from assistant.language.identify import ReplyCheck, ReplyLanguageChecker
from assistant.llm.base import LLM, ReplyEnd
from assistant.stt.base import STT
from assistant.text.speakable import Speakable, speakable
from assistant.tts.voices import VoiceRouter

if TYPE_CHECKING:  # the VAD module is imported only when a recording needs it
    from assistant.audio.vad import VAD
    from assistant.config import Config


def ms_since(start: float) -> float:
    return (time.perf_counter() - start) * 1000.0


@dataclass
class Heard:
    """Result of the hear step: a transcript to answer, or the reason there is nothing to answer."""

    transcript: Transcript | None
    decision: LanguageDecision | None
    no_speech: str | None = None


@runtime_checkable
class ReplySpeakable(Protocol):
    """A ``Stages.speakable`` hook that can also convert one reply as a whole: ``reply(language)``
    gives a converter that keeps state across the reply's sentences (a code block that spans
    them). A plain ``(text, language) -> text`` callable converts each sentence alone."""

    def __call__(self, text: str, language: str) -> str: ...

    def reply(self, language: str) -> Callable[[str], str]: ...


class SpeakableHook:
    """The default ``Stages.speakable`` (``commands.speakable_replies``): speech-friendly text for
    the voice (:mod:`assistant.text.speakable`); ``reply(language)`` converts one reply sentence by
    sentence, remembering a code block that spans sentences."""

    def __call__(self, text: str, language: str) -> str:
        return speakable(text, language)

    @staticmethod
    def reply(language: str) -> Callable[[str], str]:
        return Speakable(language).push


class Stages:
    def __init__(self, config: "Config", stt: STT | None, llm: LLM | None, voices: VoiceRouter,
                 vad: "VAD | None" = None) -> None:
        """``stt`` / ``llm`` may be None for a single-stage caller that never uses them (``say``)."""
        self.config = config
        self.stt: STT = stt  # type: ignore[assignment]
        self.llm: LLM = llm  # type: ignore[assignment]
        self.voices = voices
        self.reply_checker = ReplyLanguageChecker()
        self.vad = vad  # for recordings that did not come through the endpointer (lazy)
        # A text hook for what the voice says (numbers, units, symbols spelled out); the text
        # shown and kept in history stays as the LLM wrote it. (text, language) -> text, or a
        # ``ReplySpeakable`` that gives each reply its own converter: see ``reply_converter``.
        self.speakable: Callable[[str, str], str] | None = (
            SpeakableHook() if config.commands.speakable_replies else None)
        # A wrapper around the LLM's token stream (repetition / cut-off guards): (tokens, end) ->
        # tokens, where ``end`` says how the stream ended once it is exhausted. It must close the
        # stream it wraps when it is closed itself (a ``yield from`` does).
        # Default: loops stopped, a sentence cut off by the token limit never passed on.
        self.stream_guard: Callable[[Iterator[str], ReplyEnd], Iterator[str]] | None = self._guard_reply
        self._loaded: set[str] = set()
        # Sessions share the models: one call per model at a time (a server runs many sessions;
        # in the live loop the locks are never contended). The LLM lock is held while its
        # stream is open, so the engine always closes the streams it opens.
        self.stt_lock, self.llm_lock, self.tts_lock = threading.Lock(), threading.Lock(), threading.Lock()
        # (utterance, timings) → a Heard computed before the turn began, or None: set by the live loop
        self.early_hearing: Callable[[Utterance, dict[str, float]], Heard | None] | None = None
        self._load_lock = threading.Lock()

    @property
    def guard(self) -> SpeechGuard:
        return self.config.guard

    @classmethod
    def from_config(cls, config: "Config", kinds: tuple[str, ...] = ("stt", "llm", "tts")) -> "Stages":
        """Build (not load) the stages named in ``kinds`` from a resolved config; the others are None."""
        from assistant.core import registry

        stt = registry.get("stt", config.stt.backend).create(config.stt) if "stt" in kinds else None
        llm = registry.get("llm", config.llm.backend).create(config.llm) if "llm" in kinds else None
        return cls(config, stt, llm, VoiceRouter(config.tts))

    def fixed_language(self, asked: str | None = None) -> str | None:
        """The language to transcribe in without detecting one: the caller's (a request's
        ``language``), else ``stt.language`` unless it is ``auto``; None: detect it."""
        if asked not in (None, "auto"):
            return asked
        lang = getattr(self.config.stt, "language", "auto")
        return None if lang in (None, "auto") else lang

    def models_in_use(self) -> dict[str, str]:
        """``{"stt": "backend:model", "llm": ...}`` as configured after the starter fallback."""
        from assistant.tts.voices import voice_label

        return {stage: voice_label(opts) for stage, opts in (("stt", self.config.stt), ("llm", self.config.llm))}

    def load(self, stages: tuple[str, ...] = ("stt", "llm", "tts")) -> dict[str, float]:
        """Load models now (otherwise each loads on first use). Returns load times in ms."""
        from assistant.core import threads

        times: dict[str, float] = {}
        with self._load_lock:
            threads.configure(self.config.threads)  # before any engine sizes its pool
            for stage in stages:
                self._load_one(stage, times)
            threads.apply_torch()  # once the stages that use torch have imported it
        return times

    def _load_one(self, stage: str, times: dict[str, float]) -> None:
        if stage in self._loaded:
            return
        t0 = time.perf_counter()
        if stage == "stt":
            self.stt.load()
        elif stage == "llm":
            self.llm.load()
            if self.config.language.check_reply:
                self.reply_checker.load()
        elif stage == "tts":
            policy = self.config.language
            first = policy.default if policy.reply_language == "same" else policy.reply_language
            self.voices.preload([first])
        self._loaded.add(stage)
        times[stage] = ms_since(t0)

    # ------------------------------------------------------------------ hear

    def speech_check(self, utterance: Utterance) -> tuple[Utterance, str | None]:
        """The utterance with its speech share, and why it holds too little speech to answer (or
        None). Live audio comes with the endpointer's share; a recording is measured here."""
        if is_silent(utterance.audio, self.guard):
            audio = utterance.audio
            return utterance, (f"the recording is too short ({audio.duration:.2f} s)" if audio.duration < 0.1
                               else "the recording is silent")
        if utterance.speech_ratio is not None:
            if utterance.speech_ratio < self.config.audio.min_speech_ratio:
                return utterance, f"the voice detector heard speech in only {utterance.speech_ratio:.0%} of it"
            return utterance, None
        if self.vad is None:
            from assistant.audio.vad import make_vad

            self.vad = make_vad(self.config.audio.vad)
        ratio, seconds = speech_ratio(utterance.audio, self.vad)
        if seconds < self.guard.min_speech_s:
            return utterance, "the voice detector heard no speech in it"
        return replace(utterance, speech_ratio=ratio), None

    def hear(self, utterance: Utterance, state: language_policy.LanguageState | None = None,
             timings: dict[str, float] | None = None, language: str | None = None) -> Heard:
        """STT with the language policy and the no-speech guard. ``state``: the conversation's
        language state (None: a single recording, no conversation); ``language``: transcribe in
        this language (a request's), not the detected one."""
        state = state if state is not None else language_policy.LanguageState()
        timings = timings if timings is not None else {}
        if self.early_hearing is not None and language is None:  # the live loop may have heard it already (early_stt)
            heard = self.early_hearing(utterance, timings)
            if heard is not None:
                if not heard.no_speech and heard.decision is not None:
                    state.previous = heard.decision.language
                return heard
        return self.recognise(utterance, state, timings, language)

    def recognise(self, utterance: Utterance, state: language_policy.LanguageState,
                  timings: dict[str, float], language: str | None = None) -> Heard:
        """``hear`` itself: always runs the STT."""
        self.load(("stt",))
        audio = utterance.audio.resampled(self.stt.sample_rate)
        fixed = self.fixed_language(language)
        with self._stt_call(timings, "stt"):
            probs = None if fixed else self.stt.detect_language(audio)
            decision = language_policy.decide(probs, audio.duration, self.config.language, state, fixed)
            probs, decision = self._second_look(audio, probs, decision, state)
            transcript = self._transcribe(audio, decision)
        if transcript.language and transcript.language != decision.language:  # a candidate's decode passed
            decision = replace(decision, language=transcript.language, reason="candidate",
                               probability=probs.get(transcript.language) if probs else None)
        if probs is not None:
            transcript = _with_probabilities(transcript, probs, decision)
        reason = no_speech_reason(transcript, self.guard, utterance.speech_ratio)
        if reason:
            return Heard(transcript, decision, reason)
        state.previous = decision.language
        return Heard(transcript, decision)

    def hear_in(self, utterance: Utterance, language: str, timings: dict[str, float]) -> Transcript:
        """The utterance transcribed again in ``language`` (no detection): a short command heard
        in another language than the session's is checked in the session's (engine/commands.py)."""
        self.load(("stt",))
        audio = utterance.audio.resampled(self.stt.sample_rate)
        with self._stt_call(timings, "stt_session_language"):
            return self.stt.transcribe(audio, language=language)

    @contextmanager
    def _stt_call(self, timings: dict[str, float], key: str) -> Iterator[None]:
        """The STT model's lock held, its time in ``timings[key]``, and a backend's unexpected
        exception turned into a readable ``StageError`` (a bug must still end the turn)."""
        t0 = time.perf_counter()
        try:
            with self.stt_lock:
                yield
        except AssistantError:
            raise
        except Exception as e:
            raise StageError("stt", f"speech recognition failed: {type(e).__name__}: {e}") from e
        finally:
            timings[key] = ms_since(t0)

    def _second_look(self, audio: AudioChunk, probs: dict[str, float] | None, decision: LanguageDecision,
                     state: language_policy.LanguageState) -> tuple[dict[str, float] | None, LanguageDecision]:
        """An unsure decision (candidates named) is taken again with detection on Whisper's full
        30 s window combined with the utterance's, when the backend offers it."""
        full = getattr(self.stt, "detect_language_full", None)
        if (probs is None or not decision.candidates or full is None
                or getattr(self.config.stt, "audio_ctx", "") != "utterance"):
            return probs, decision
        combined = language_policy.combine(probs, full(audio))
        return combined, language_policy.decide(combined, audio.duration, self.config.language, state)

    def _transcribe(self, audio: AudioChunk, decision: LanguageDecision) -> Transcript:
        """The transcript in the decided language; a backend that can try the decision's
        candidates when that decode fails Whisper's checks gets them."""
        if decision.candidates and "alternatives" in inspect.signature(self.stt.transcribe).parameters:
            return self.stt.transcribe(audio, language=decision.language, alternatives=decision.candidates)
        return self.stt.transcribe(audio, language=decision.language)

    # ------------------------------------------------------------------ think

    def think(self, messages: list[Message], session: str | None = None,
              end: ReplyEnd | None = None) -> Iterator[str]:
        """Stream the reply's tokens (through the stream guard, when one is set). ``session``
        names the conversation, for backends that keep one KV cache per conversation; ``end``
        is filled in with how the stream ended."""
        self.load(("llm",))
        end = end if end is not None else ReplyEnd()
        stream = self._stream(messages, session, end)
        return self.stream_guard(stream, end) if self.stream_guard else stream

    def prepare(self, messages: list[Message], session: str) -> None:
        """Let a backend that keeps the conversation's KV cache prefill the next prompt's start
        (system prompt and history) between turns; nothing for the others."""
        prepare = getattr(self.llm, "prepare", None)
        if prepare is None or not getattr(self.llm, "keeps_sessions", False):
            return
        with self.llm_lock:
            prepare(messages, session)

    @staticmethod
    def _guard_reply(stream: Iterator[str], end: ReplyEnd) -> Iterator[str]:
        from assistant.text.reply_guard import guard_reply

        return guard_reply(stream, lambda: end.cut)

    def _stream(self, messages: list[Message], session: str | None = None,
                end: ReplyEnd | None = None) -> Iterator[str]:
        try:
            with self.llm_lock:
                if session is not None and getattr(self.llm, "keeps_sessions", False):
                    yield from self.llm.stream(messages, session=session)  # type: ignore[call-arg]
                else:
                    yield from self.llm.stream(messages)
                if end is not None:  # run to its end: how it ended is this stream's, read under the lock
                    end.finish_reason = self.llm.finish_reason
        except AssistantError:
            raise
        except Exception as e:
            raise StageError("llm", f"the language model failed: {type(e).__name__}: {e}") from e

    @staticmethod
    def insist_instruction(wrong: str, reply_language: str) -> str:
        """The retry's instruction, in the language wanted (``wrong``: the language the first
        reply came in; naming it in English pulled replies back towards English)."""
        from assistant.language.instructions import insist_instruction

        return insist_instruction(reply_language)

    def check_reply(self, text: str, language: str) -> ReplyCheck | None:
        if not self.config.language.check_reply:
            return None
        return self.reply_checker.check(text, language)

    # ------------------------------------------------------------------ speak

    def reply_converter(self, language: str) -> Callable[[str], str] | None:
        """One reply's speakable converter, for ``speak(convert=)``, when the hook is a
        ``ReplySpeakable``; None: ``speak`` applies the hook to each sentence alone."""
        hook = self.speakable
        return hook.reply(language) if isinstance(hook, ReplySpeakable) else None

    def speak(self, text: str, language: str,
              convert: Callable[[str], str] | None = None) -> tuple[str | None, Iterator[AudioChunk]]:
        """Synthesize ``text`` with the voice for ``language``; returns the voice label and audio
        (no label and no audio when nothing is left to say, e.g. a sentence of only emoji).
        ``convert``: one reply's speakable converter (state across its sentences), else the
        ``speakable`` hook."""
        if convert is not None:
            text = convert(text)
        elif self.speakable is not None:
            text = self.speakable(text, language)
        if not text.strip():
            return None, iter(())
        with self.tts_lock:
            voice, chunks = self.voices.synthesize(text, language)
        return voice.label, _tts_errors(chunks, self.tts_lock)


def _tts_errors(chunks: Iterator[AudioChunk], lock: threading.Lock) -> Iterator[AudioChunk]:
    try:
        while True:
            with lock:  # synthesis runs while the generator is advanced
                chunk = next(chunks, None)
            if chunk is None:
                return
            yield chunk
    except AssistantError:
        raise
    except Exception as e:
        raise StageError("tts", f"speech synthesis failed: {type(e).__name__}: {e}") from e


def _with_probabilities(t: Transcript, probs: dict[str, float], decision: LanguageDecision) -> Transcript:
    """Attach the detection result to the transcript (the policy may have chosen another language)."""
    top = dict(language_policy.top_n(probs, 5))
    return replace(t, language=decision.language, language_probability=probs.get(decision.language),
                   language_probabilities=top)
