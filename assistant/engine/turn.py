"""One turn, written once: hear → no-speech check → local command → reply language → think
(streamed, cut into sentences, the first sentence's language checked, one retry before anything
is spoken) → speak sentence by sentence into a reply sink → remember what was heard → log.

File mode, the live loop and a server all run this. It owns the turn's threads (a speech thread
synthesizes sentences while the LLM still writes) and its error policy: a failing stage ends the
turn with a typed error, ``turn.status = "failed"``, and the turn is logged either way. A
``cancel`` event (barge-in, shutdown) stops generation and speech at once; the history then keeps
only what the user actually heard.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from assistant.audio.io import check_finite, load_audio
from assistant.commands.session import SessionState
from assistant.core.errors import AssistantError, LLMConnectionError, NoVoiceError, StageError
from assistant.core.turnlog import TurnLog
from assistant.core.types import AudioChunk, LanguageDecision, Transcript, Turn, Utterance
from assistant.engine.commands import Command, CommandParsers, in_session_language
from assistant.engine.session import Session
from assistant.engine.sinks import ReplySink
from assistant.engine.stages import Stages, ms_since
from assistant.language.names import name_of
from assistant.text.messages import message
from assistant.text.sentences import SentenceSplitter

log = logging.getLogger(__name__)

NO_SPEECH_NOTICE = "I didn't hear any speech. Please try again."


@dataclass(frozen=True)
class TurnPolicy:
    stream: bool = True  # speak sentence by sentence as the LLM writes; False: the whole reply at once
    say_errors: bool = False  # speak failures and a missing voice aloud (voice-only interfaces)
    raise_errors: bool = False  # re-raise a failure (after logging it) instead of only recording it
    feedback: bool = False  # spoken feedback: "still thinking", the noise hint (commands.* settings)


@dataclass(frozen=True)
class FileInput:
    """A recording on disk (or samples in memory): decoded inside the turn, so a bad file is a
    failed, logged turn like any other."""

    audio: str | Path | AudioChunk
    source: str | None = None  # names samples decoded beforehand (the log's ``input``)

    @property
    def name(self) -> str:
        return self.source or ("<samples>" if isinstance(self.audio, AudioChunk) else str(self.audio))

    def utterance(self, timings: dict[str, float]) -> Utterance:
        audio = self.audio
        if not isinstance(audio, AudioChunk):
            t0 = time.perf_counter()
            audio = load_audio(audio, 16000)  # checks the samples are finite too
            timings["decode"] = ms_since(t0)
        else:
            check_finite(audio.samples, "the audio")
        return Utterance(audio, source=self.name)


@dataclass(frozen=True)
class TextInput:
    """Typed words instead of speech (a chat box, a server's text item): no STT; the language is
    the one given, else the conversation's last one, else the default."""

    text: str
    language: str | None = None
    name: str = "<text>"


class _WholeText:
    """A splitter that keeps the reply in one piece (file mode: one synthesis of the whole reply)."""

    def __init__(self) -> None:
        self.parts: list[str] = []

    def push(self, token: str) -> list[str]:
        self.parts.append(token)
        return []

    def flush(self) -> str | None:
        return "".join(self.parts).strip() or None


@dataclass
class Spoken:
    """What was sent to the sink in one turn, to know what the user actually heard."""

    start_played: float  # sink.played_seconds() when the turn's first audio was sent
    sentences: list[tuple[str, float]] = field(default_factory=list)  # (text, audio seconds)
    first_audio_at: float | None = None
    first_synth_ms: float | None = None

    def heard_text(self, played: float) -> str:
        """The reply up to where playback stopped: whole sentences, then a share of the words."""
        heard: list[str] = []
        left = played
        for text, seconds in self.sentences:
            if left >= seconds - 0.05:
                heard.append(text)
                left -= seconds
                continue
            words = text.split()
            n = int(len(words) * max(0.0, left) / seconds) if seconds > 0 else 0
            if n:
                heard.append(" ".join(words[:n]) + "…")
            break
        return " ".join(heard)


class TurnEngine:
    def __init__(self, stages: Stages, turn_log: TurnLog, commands: CommandParsers | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.stages = stages
        self.config = stages.config
        self.turn_log = turn_log
        self.commands = commands or CommandParsers()
        self.clock = clock  # the clock of Utterance.ended_at (first-audio latency)

    def new_session(self) -> Session:
        return Session(self.config.conversation, models=self.stages.models_in_use(),
                       commands=SessionState(self.config.commands))

    # ------------------------------------------------------------------ one turn

    def run(self, session: Session, source: Utterance | FileInput | TextInput, sink: ReplySink,
            policy: TurnPolicy = TurnPolicy(), turn: Turn | None = None,
            cancel: threading.Event | None = None) -> Turn:
        """Run one turn and log it. Returns the turn (``status`` says how it ended); raises its
        ``AssistantError`` after logging only when ``policy.raise_errors``."""
        if turn is None:
            turn = session.new_turn(source.source or "microphone" if isinstance(source, Utterance) else source.name)
        cancel = cancel or threading.Event()
        session.session_language = session.language.current()
        t_start = time.perf_counter()
        failure: AssistantError | None = None
        try:
            utterance = source.utterance(turn.timings_ms) if isinstance(source, FileInput) else source
            if isinstance(utterance, TextInput):
                self._text_turn(session, turn, utterance, sink, policy, cancel)
            else:
                self._turn(session, turn, utterance, sink, policy, cancel)
            sink.complete(turn)
        except AssistantError as e:
            failure = e
            turn.status, turn.error = "failed", str(e)
            sink.error(str(e))
            if policy.say_errors:
                key = "llm_error" if isinstance(e, LLMConnectionError) else "error"
                said_in = turn.reply_language or turn.language or session.language.speaking(self.config.language)
                for chunk in self.message_audio(key, said_in):
                    sink.audio(chunk)
        except BaseException as e:  # Ctrl-C, SIGTERM (the CLI raises it as an exception), a bug
            interrupt = isinstance(e, (KeyboardInterrupt, SystemExit))
            turn.status = "interrupted" if interrupt else "failed"
            turn.interrupted = turn.interrupted or interrupt
            turn.error = str(e) or type(e).__name__
            if turn.output_path:  # written just before the interrupt: no output of a turn logged as cut short
                Path(turn.output_path).unlink(missing_ok=True)
                turn.output_path = None
            raise
        finally:
            turn.timings_ms["total"] = ms_since(t_start)
            try:
                self.turn_log.append(turn.to_dict() | {"session": session.id})
            except AssistantError as e:
                if policy.raise_errors and failure is None:
                    raise
                sink.error(str(e))
        if failure is not None and policy.raise_errors:
            raise failure
        return turn

    def _turn(self, session: Session, turn: Turn, utterance: Utterance, sink: ReplySink, policy: TurnPolicy,
              cancel: threading.Event) -> None:
        utterance, reason = self.stages.speech_check(utterance)
        if reason:
            turn.status, turn.notice = "no_speech", f"{NO_SPEECH_NOTICE} ({reason})"
            self._refused(session, sink, policy)
            return
        if not session.commands.paused:  # asleep: no thinking cue for what is most likely ignored
            sink.status("thinking")
        heard = self.stages.hear(utterance, session.language, turn.timings_ms)
        heard = in_session_language(self.stages, utterance, heard, session.session_language,
                                    session.commands.settings, turn.timings_ms)
        if heard.decision is not None and heard.decision.reason == "session-command":
            session.language.previous = heard.decision.language
        turn.transcript, turn.decision = heard.transcript, heard.decision
        if heard.no_speech:
            turn.status, turn.notice = "no_speech", f"{NO_SPEECH_NOTICE} ({heard.no_speech})"
            log.info("not answered: %s", heard.no_speech)
            self._refused(session, sink, policy)
            return
        assert heard.transcript and heard.decision
        self._answer(session, turn, heard.transcript.text, heard.decision.language, utterance, sink, policy, cancel)

    def _text_turn(self, session: Session, turn: Turn, typed: TextInput, sink: ReplySink, policy: TurnPolicy,
                   cancel: threading.Event) -> None:
        language = session.language.user_language(self.config.language, typed.language)
        turn.transcript = Transcript(typed.text, language, None)
        turn.decision = LanguageDecision(language, "given" if typed.language else "kept-previous", None)
        if not session.commands.paused:
            sink.status("thinking")
        self._answer(session, turn, typed.text, language, Utterance(AudioChunk(np.zeros(0, np.float32), 16000),
                                                                    source=typed.name), sink, policy, cancel)

    def _answer(self, session: Session, turn: Turn, text: str, language: str, utterance: Utterance,
                sink: ReplySink, policy: TurnPolicy, cancel: threading.Event) -> None:
        """From the user's words on: carry-over, local command, reply language, reply."""
        session.refused_in_row = 0
        session.turn_language = language
        if session.carry:
            text, session.carry = f"{session.carry} {text}", ""
        sink.heard(turn)
        if cancel.is_set():  # the user went on talking: answer it all together
            session.carry = text
            turn.notice = "the user went on speaking; joined to the next utterance"
            return
        command = self.commands(text, session)
        turn.reply_language = session.reply_language(language, self.config.language)
        if command is not None:
            self._command(session, turn, command, utterance, sink, policy, cancel)
            return
        heard_reply = self._reply(session, turn, text, language, utterance, sink, policy, cancel)
        session.remember(text, heard_reply, turn.reply_language)
        if getattr(self.stages.llm, "keeps_sessions", False):
            # History trimmed at its start (by turns or tokens): the KV-cache engine prefills the
            # next prompt's start now, while the user listens and speaks, not when the next
            # question comes.
            prefix = session.history.prefix(self.stages.llm.count_tokens)
            if session.history.trimmed:
                session.history.trimmed = False
                self.stages.prepare(prefix, session.id)

    def _command(self, session: Session, turn: Turn, command: Command, utterance: Utterance, sink: ReplySink,
                 policy: TurnPolicy, cancel: threading.Event) -> None:
        """A local command: never sent to the LLM; its confirmation spoken, the turn logged."""
        turn.status = command.status
        if command.status == "ignored":
            turn.notice = "listening is paused; only the wake phrase is acted on"
            return
        turn.command = command.name
        turn.reply_text = command.say or ""
        if command.language:
            turn.reply_language = command.language
        sink.command(command.name)
        if command.say:
            speech = _Speech(self, sink, turn, cancel, policy, session.commands)
            speech.say(command.say)
            self._finish_speech(speech, sink, turn, utterance, cancel)

    def _refused(self, session: Session, sink: ReplySink, policy: TurnPolicy) -> None:
        """Count no-speech turns; after ``commands.noise_hint_after`` in a row, say how to get help."""
        session.refused_in_row += 1
        after = self.config.commands.noise_hint_after
        if not policy.feedback or not after or session.refused_in_row < after:
            return
        session.refused_in_row = 0
        language = session.language.speaking(self.config.language)
        for chunk in self.message_audio("noise_hint", language):
            sink.audio(session.commands.shape(chunk))

    def _reply(self, session: Session, turn: Turn, text: str, language: str, utterance: Utterance,
               sink: ReplySink, policy: TurnPolicy, cancel: threading.Event) -> str:
        """Think and speak; returns what the user heard of the reply."""
        reply_language = turn.reply_language or language
        speech = _Speech(self, sink, turn, cancel, policy, session.commands)
        if policy.feedback and self.config.commands.still_thinking_s > 0:
            speech.remind_after(self.config.commands.still_thinking_s, reply_language)
        t0 = time.perf_counter()
        insist: str | None = None
        parts: list[str] = []
        try:
            for attempt in range(2):
                splitter = SentenceSplitter(reply_language) if policy.stream else _WholeText()
                parts, checked, retry = [], False, False
                extra = self.stages.insist_instruction(insist, reply_language) if insist else None
                messages = session.history.messages(text, reply_language, self.stages.llm.count_tokens, extra)
                gen = self.stages.think(messages, session.id)
                try:
                    for token in gen:
                        if cancel.is_set():
                            break
                        if not parts and "llm_first_token" not in turn.timings_ms:
                            turn.timings_ms["llm_first_token"] = ms_since(t0)
                        parts.append(token)
                        sink.reply_token(token)
                        for sentence in splitter.push(token):
                            if not checked:
                                checked = True
                                insist = self._wrong_language(turn, sentence, reply_language, attempt, speech)
                                if insist:
                                    retry = True
                                    break
                            speech.say(sentence)
                        if retry:
                            break
                finally:
                    gen.close()  # stops generation at once (barge-in or retry)
                if retry:
                    continue
                rest = None if cancel.is_set() else splitter.flush()
                if rest and not checked:
                    # The first sentence decides: a reply in the wrong language is regenerated
                    # once before anything is spoken.
                    insist = self._wrong_language(turn, rest, reply_language, attempt, speech)
                    if insist:
                        continue
                if rest:
                    speech.say(rest)
                break
        except BaseException:
            # an LLM failure mid-reply: let what is already queued be spoken, then stop the
            # speech thread before the error is reported
            speech.close(interrupted=True)
            said = " ".join(t for t, _ in speech.spoken.sentences)
            if said and not cancel.is_set():  # what was said stays in the history, as heard
                turn.reply_text = said
                session.remember(text, said)
            raise
        turn.timings_ms["llm"] = ms_since(t0)
        turn.reply_text = "".join(parts).strip()
        if not turn.reply_text and not cancel.is_set():
            speech.close(interrupted=False)
            raise StageError("llm", "the language model returned an empty reply")
        spoken = self._finish_speech(speech, sink, turn, utterance, cancel)
        if not cancel.is_set():
            return turn.reply_text
        heard = spoken.heard_text(sink.played_seconds() - spoken.start_played)
        if turn.interrupted:
            turn.notice = f"interrupted; the user heard: {heard!r}"
        return heard

    def _wrong_language(self, turn: Turn, sentence: str, reply_language: str, attempt: int,
                        speech: "_Speech") -> str | None:
        """Check the reply's first sentence; the wrongly used language when it must be retried.
        Wrong again after the retry: the reply is spoken by the voice of the language it is
        written in (never a German voice reading English), and the caption says so."""
        check = self.stages.check_reply(sentence, reply_language)
        if check is None:
            return None
        turn.reply_check = check.to_dict() | {"retried": attempt == 1}
        if check.ok or not check.detected:
            return None
        if attempt == 0:
            return check.detected
        turn.reply_check["spoken_as"] = check.detected
        speech.speak_as(check.detected, reply_language)
        return None

    def _finish_speech(self, speech: "_Speech", sink: ReplySink, turn: Turn, utterance: Utterance,
                       cancel: threading.Event) -> Spoken:
        speech.close(interrupted=cancel.is_set())
        if speech.failure is not None:
            raise speech.failure
        sink.wait_played(cancel)  # the reply is heard, unless the user interrupts
        spoken = speech.spoken
        heard = sink.first_heard_at()  # device buffers and audio queued ahead included
        if spoken.first_audio_at is not None and heard is not None:
            turn.timings_ms["playback"] = (heard - spoken.first_audio_at) * 1000.0
        if spoken.first_audio_at is not None and utterance.ended_at is not None:
            first = heard if heard is not None else spoken.first_audio_at
            turn.timings_ms["first_audio"] = (first - utterance.ended_at) * 1000.0
        if spoken.first_synth_ms is not None:
            turn.timings_ms["tts_first_audio"] = spoken.first_synth_ms
        return spoken

    # ------------------------------------------------------------------ short messages

    def message_audio(self, key: str, language: str, **values: str) -> list[AudioChunk]:
        """One of the assistant's own messages (ready, errors) as audio; [] when it can't be said."""
        text, lang = message(key, language, **values)
        try:
            _, chunks = self.stages.speak(text, lang)
            return list(chunks)
        except AssistantError as e:  # an error message that can't be spoken is still shown
            log.warning("could not speak %r: %s", text, e)
            return []


class _Speech:
    """The speech thread of one turn: synthesizes queued sentences into the sink in order."""

    def __init__(self, engine: TurnEngine, sink: ReplySink, turn: Turn, cancel: threading.Event,
                 policy: TurnPolicy, state: SessionState | None = None) -> None:
        self.engine, self.sink, self.turn, self.cancel, self.policy = engine, sink, turn, cancel, policy
        self.language = turn.reply_language or engine.config.language.default
        self.queue: queue.Queue[str | None] = queue.Queue()
        self.thread: threading.Thread | None = None
        self.spoken = Spoken(start_played=sink.played_seconds())
        self.failure: AssistantError | None = None
        self.shape = state.shape if state is not None else (lambda chunk: chunk)  # speaking rate, volume
        self.convert = engine.stages.reply_converter(self.language)
        self.first_lock = threading.Lock()  # the "still thinking" message and the reply never overlap
        self.timer: threading.Timer | None = None
        self.closed = False

    def remind_after(self, seconds: float, language: str) -> None:
        """Say "still thinking" when no reply audio has gone out ``seconds`` from now."""
        def fire() -> None:
            with self.first_lock:
                if self.spoken.first_audio_at is not None or self.cancel.is_set() or self.closed:
                    return
                for chunk in self.engine.message_audio("still_thinking", language):
                    if self.cancel.is_set():
                        break
                    chunk = self.shape(chunk)
                    self.sink.audio(chunk)
                    self.spoken.start_played += chunk.duration  # heard before the reply: not part of it
                self.turn.timings_ms["still_thinking"] = seconds * 1000.0

        self.timer = threading.Timer(seconds, fire)
        self.timer.daemon = True
        self.timer.start()

    def speak_as(self, written: str, wanted: str) -> None:
        """The reply came in ``written`` although ``wanted`` was asked for: speak it with
        ``written``'s voice and say so (before the first sentence is queued)."""
        if self.thread is not None or written == self.language:
            return
        self.language = written
        self.convert = self.engine.stages.reply_converter(written)
        self.turn.notice = (f"The reply came in {name_of(written)}, not in {name_of(wanted)}, even after a "
                            f"retry: it is spoken with the {name_of(written)} voice.")
        self.sink.notice(self.turn.notice)

    def say(self, sentence: str) -> None:
        if self.thread is None:
            self.sink.reply_start(self.language)
            self.thread = threading.Thread(target=self._work, name="speech", daemon=True)
            self.thread.start()
        self.sink.reply_text(sentence + " ")
        self.queue.put(sentence)

    def close(self, interrupted: bool) -> None:
        self.closed = True
        if self.timer is not None:
            self.timer.cancel()
        self.queue.put(None)
        if self.thread is not None:
            self.thread.join()
            self.thread = None
            self.sink.reply_end(interrupted=interrupted or self.cancel.is_set())

    def _work(self) -> None:
        turn, sink, spoken = self.turn, self.sink, self.spoken
        tts_ms = 0.0
        sentence: str | None = ""
        while True:
            sentence = self.queue.get()
            if sentence is None or self.cancel.is_set():
                break
            t0 = time.perf_counter()
            try:
                voice, chunks = self.engine.stages.speak(sentence, self.language, self.convert)
                if voice:
                    turn.voice = voice
                seconds = 0.0
                for chunk in chunks:  # a sentence may have no audio (only symbols): not an error
                    if self.cancel.is_set():
                        break
                    chunk = self.shape(chunk)
                    if spoken.first_audio_at is None:
                        with self.first_lock:  # after a "still thinking" being sent, never over it
                            spoken.first_synth_ms = ms_since(t0)
                            spoken.first_audio_at = self.engine.clock()
                        sink.status("speaking")
                    sink.audio(chunk)
                    seconds += chunk.duration
                spoken.sentences.append((sentence, seconds))
            except NoVoiceError as e:
                turn.notice = (f"No voice is available for {name_of(self.language)}; the reply is shown as "
                               f"text only (no voice for '{self.language}': {e.hint})")
                sink.notice(turn.notice)
                if self.policy.say_errors:  # said in the language the assistant speaks by default
                    default = self.engine.config.language.default
                    for chunk in self.engine.message_audio("no_voice", default, name=name_of(self.language)):
                        sink.audio(chunk)
                break
            except AssistantError as e:
                self.failure = e
                break
            finally:
                tts_ms += ms_since(t0)
        turn.timings_ms["tts"] = tts_ms
        while sentence is not None:  # drain what the LLM still queues so it never blocks
            sentence = self.queue.get()
