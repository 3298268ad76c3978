"""The assistant: one turn = hear (STT + language policy) → think (LLM) → speak (TTS).

``Assistant`` is the Python API and the file-mode orchestrator. Stages are plain blocking
objects built from the registry; this class owns the error policy: a failing stage ends the
turn with a typed error, and the turn is logged either way. The live loop (``chat.py``) reuses
``hear`` / ``think`` / ``speak`` and adds threads, streaming and barge-in.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterator

from assistant import registry
from assistant.audio.io import load_audio, save_audio
from assistant.config import Config, load_config
from assistant.errors import AssistantError, NoVoiceError, StageError
from assistant.guard import is_silent, no_speech_reason, speech_ratio
from assistant.language import commands, policy as language_policy
from assistant.language.identify import ReplyCheck, ReplyLanguageChecker
from assistant.language.names import name_of
from assistant.llm.history import History
from assistant.text.reply_guard import guard_reply
from assistant.tts.voices import VoiceRouter
from assistant.turnlog import TurnLog
from assistant.types import AudioChunk, LanguageDecision, Transcript, Turn, Utterance

NO_SPEECH_NOTICE = "I didn't hear any speech. Please try again."


def _ms(start: float) -> float:
    return (time.perf_counter() - start) * 1000.0


@dataclass
class Heard:
    """Result of the hear step: a transcript to answer, or the reason there is nothing to answer."""

    transcript: Transcript | None
    decision: LanguageDecision | None
    no_speech: str | None = None


class Assistant:
    def __init__(self, config: Config, stt: Any, llm: Any, voices: VoiceRouter,
                 turn_log: TurnLog | None = None, vad: Any = None) -> None:
        self.config = config
        self.stt = stt
        self.llm = llm
        self.voices = voices
        self.turn_log = turn_log or TurnLog(config.log.path)
        self.history = History(config.conversation)
        self.language = language_policy.LanguageState()
        self._next_id = 1
        self._loaded: set[str] = set()
        self.reply_checker = ReplyLanguageChecker()
        self._vad = vad  # for recordings that did not come through the endpointer (lazy)

    # ------------------------------------------------------------------ construction

    @classmethod
    def from_config(cls, path: str | Path | None = None, overrides: list[str] | tuple[str, ...] = (),
                    config: Config | None = None) -> "Assistant":
        """Build (but don't load) every stage from a YAML file and ``--set`` style overrides."""
        config = config or load_config(path, overrides)
        stt = registry.get("stt", config.stt.backend).create(config.stt)
        llm = registry.get("llm", config.llm.backend).create(config.llm)
        return cls(config, stt, llm, VoiceRouter(config.tts))

    def load(self, stages: tuple[str, ...] = ("stt", "llm", "tts")) -> dict[str, float]:
        """Load models now (otherwise each loads on first use). Returns load times in ms."""
        times: dict[str, float] = {}
        for stage in stages:
            if stage in self._loaded:
                continue
            t0 = time.perf_counter()
            if stage == "stt":
                self.stt.load()
            elif stage == "llm":
                self.llm.load()
                if self.config.language.check_reply:
                    self.reply_checker.load()
            elif stage == "tts":
                self.voices.preload([self._reply_language(self.config.language.default)])
            self._loaded.add(stage)
            times[stage] = _ms(t0)
        return times

    # ------------------------------------------------------------------ stages

    def new_turn(self, source: str) -> Turn:
        turn = Turn(id=self._next_id, started_at=datetime.now(timezone.utc).isoformat(timespec="milliseconds"),
                    input=source)
        self._next_id += 1
        return turn

    @property
    def fixed_language(self) -> str | None:
        lang = getattr(self.config.stt, "language", "auto")
        return None if lang in (None, "auto") else lang

    def hear(self, utterance: Utterance, timings: dict[str, float]) -> Heard:
        """STT with the language policy and the no-speech guard."""
        audio = utterance.audio
        if is_silent(audio, self.config.guard):
            return Heard(None, None, "the recording is silent")
        self.load(("stt",))
        audio = audio.resampled(self.stt.sample_rate)
        t0 = time.perf_counter()
        try:
            fixed = self.fixed_language
            probs = None if fixed else self.stt.detect_language(audio)
            decision = language_policy.decide(probs, audio.duration, self.config.language, self.language, fixed)
            transcript = self.stt.transcribe(audio, language=decision.language)
        except AssistantError:
            raise
        except Exception as e:  # a backend bug must still end the turn with a readable message
            raise StageError("stt", f"speech recognition failed: {type(e).__name__}: {e}") from e
        finally:
            timings["stt"] = _ms(t0)
        if probs is not None:
            transcript = _with_probabilities(transcript, probs, decision)
        reason = no_speech_reason(transcript, self.config.guard, utterance.speech_ratio)
        if reason:
            return Heard(transcript, decision, reason)
        self.language.previous = decision.language
        return Heard(transcript, decision)

    def _reply_language(self, user_language: str) -> str:
        """A language the user asked for by voice, else the configured one, else theirs."""
        if self.language.requested:
            return self.language.requested
        setting = self.config.language.reply_language
        return user_language if setting == "same" else setting

    def language_command(self, text: str, user_language: str) -> commands.LanguageCommand | None:
        """Handle "speak German" style requests before the LLM; returns the command if it was one."""
        command = commands.parse(text)
        if command is not None:
            self.language.requested = command.language
        return command

    def think(self, text: str, language: str, insist: str | None = None) -> Iterator[str]:
        """Stream the reply's tokens. The caller records the reply in history (``remember``).
        ``insist``: the language a previous attempt wrongly used, to ask more firmly."""
        self.load(("llm",))
        reply_language = self._reply_language(language)
        extra = None
        if insist:
            extra = (f"Your previous answer was in {name_of(insist)}, which is wrong. "
                     f"Answer only in {name_of(reply_language)}.")
        messages = self.history.messages(text, reply_language, self.llm.count_tokens, extra)
        try:
            # loops stopped, a sentence cut off by the token limit never passed on (text/reply_guard.py)
            yield from guard_reply(self.llm.stream(messages),
                                   lambda: getattr(self.llm, "finish_reason", None) == "length")
        except AssistantError:
            raise
        except Exception as e:
            raise StageError("llm", f"the language model failed: {type(e).__name__}: {e}") from e

    def remember(self, user_text: str, reply_heard: str) -> None:
        self.history.add(user_text, reply_heard)

    def speak(self, text: str, language: str) -> tuple[str, Iterator[AudioChunk]]:
        """Synthesize ``text`` with the voice for ``language``; returns the voice label and audio."""
        voice, chunks = self.voices.synthesize(text, language)
        return voice.label, chunks

    # ------------------------------------------------------------------ file mode

    def respond(self, audio: str | Path | AudioChunk, output: str | Path | None = None,
                on_text: Callable[[str], None] | None = None) -> Turn:
        """One whole turn from a file or samples. Logs the turn; raises AssistantError on failure
        (after logging it). ``on_text`` receives reply tokens as they stream."""
        source = str(audio) if not isinstance(audio, AudioChunk) else "<samples>"
        turn = self.new_turn(source)
        t_start = time.perf_counter()
        try:
            if not isinstance(audio, AudioChunk):
                t0 = time.perf_counter()
                audio = load_audio(audio, 16000)
                turn.timings_ms["decode"] = _ms(t0)
            ratio = self._file_speech_ratio(audio)
            heard = (Heard(None, None, "the voice detector heard no speech in it") if ratio is None
                     else self.hear(Utterance(audio, turn.id, source, speech_ratio=ratio), turn.timings_ms))
            turn.transcript, turn.decision = heard.transcript, heard.decision
            if heard.no_speech:
                turn.status, turn.notice = "no_speech", f"{NO_SPEECH_NOTICE} ({heard.no_speech})"
                return turn
            assert heard.transcript and heard.decision
            language = heard.decision.language
            command = self.language_command(heard.transcript.text, language)
            turn.reply_language = self._reply_language(language)
            if command is not None:
                turn.status, turn.reply_text = "command", command.confirmation
                self._speak_whole(turn, output)
                return turn
            t0 = time.perf_counter()
            turn.reply_text = self._generate(heard.transcript.text, language, turn, on_text)
            check = self.check_reply(turn.reply_text, turn.reply_language)
            if check is not None and not check.ok:
                # One retry with a firmer instruction; the second answer stands either way.
                turn.reply_text = self._generate(heard.transcript.text, language, turn, on_text, check.detected)
                check = replace(self.check_reply(turn.reply_text, turn.reply_language) or check, retried=True)
            turn.reply_check = check.to_dict() if check else None
            turn.timings_ms["llm"] = _ms(t0)
            self.remember(heard.transcript.text, turn.reply_text)
            self._speak_whole(turn, output)
            return turn
        except AssistantError as e:
            turn.status, turn.error = "failed", str(e)
            raise
        finally:
            turn.timings_ms["total"] = _ms(t_start)
            self.turn_log.append(turn.to_dict())

    def _file_speech_ratio(self, audio: AudioChunk) -> float | None:
        """The VAD's speech share for a recording, or None when it holds too little speech.
        (Live audio has been through the endpointer already.)"""
        if is_silent(audio, self.config.guard):
            return 0.0  # hear() reports it as silent
        if self._vad is None:
            from assistant.audio.vad import make_vad

            self._vad = make_vad(self.config.audio.vad)
        ratio, seconds = speech_ratio(audio, self._vad)
        return None if seconds < self.config.guard.min_speech_s else ratio

    def _generate(self, text: str, language: str, turn: Turn, on_text: Callable[[str], None] | None,
                  insist: str | None = None) -> str:
        t0 = time.perf_counter()
        parts: list[str] = []
        for piece in self.think(text, language, insist):
            if not parts and "llm_first_token" not in turn.timings_ms:
                turn.timings_ms["llm_first_token"] = _ms(t0)
            parts.append(piece)
            if on_text:
                on_text(piece)
        reply = "".join(parts).strip()
        if not reply:
            raise StageError("llm", "the language model returned an empty reply")
        return reply

    def check_reply(self, text: str, language: str) -> ReplyCheck | None:
        if not self.config.language.check_reply:
            return None
        return self.reply_checker.check(text, language)

    def _speak_whole(self, turn: Turn, output: str | Path | None) -> None:
        assert turn.reply_language
        t0 = time.perf_counter()
        try:
            turn.voice, chunks = self.speak(turn.reply_text, turn.reply_language)
            collected = list(chunks)
        except NoVoiceError:
            turn.notice = (f"No voice is available for {name_of(turn.reply_language)}; "
                           "the reply is shown as text only.")
            return
        finally:
            turn.timings_ms["tts"] = _ms(t0)
        if not collected:
            raise StageError("tts", f"voice {turn.voice} produced no audio")
        turn.reply_audio = AudioChunk.concat(collected)
        if output is not None:
            turn.output_path = str(save_audio(turn.reply_audio, output))


def _with_probabilities(t: Transcript, probs: dict[str, float], decision: LanguageDecision) -> Transcript:
    """Attach the detection result to the transcript (the policy may have chosen another language)."""
    top = dict(language_policy.top_n(probs, 5))
    return replace(t, language=decision.language, language_probability=probs.get(decision.language),
                   language_probabilities=top)
