"""The live voice loop: microphone → endpointing → STT → streamed LLM → per-sentence TTS → speaker.

This module owns the threads and the error policy of live mode:

- the **main thread** reads the microphone and runs the VAD/endpointer (cheap, ~1 ms a block), so
  speech onset is noticed at once, whatever the models are doing — that is what makes barge-in fast;
- a **turn thread** runs one turn at a time: STT, then the LLM token stream, cut into sentences;
- a **speech thread** per turn synthesizes each sentence and queues it on the speaker while the
  LLM is still generating, so the first sound waits only for the first sentence.

Barge-in sets the turn's cancel event and stops the speaker; the LLM generator is closed, queued
sentences are dropped, and the history keeps only what was actually heard. Every turn, finished,
refused or failed, is appended to the JSONL log.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from assistant.audio.cues import error_cue, listening_cue, thinking_cue
from assistant.audio.endpointing import SpeechDiscarded, SpeechStarted
from assistant.audio.settings import AudioSettings
from assistant.captions import Captions
from assistant.errors import AssistantError, LLMConnectionError, NoVoiceError
from assistant.language.names import name_of
from assistant.messages import message
from assistant.pipeline import Assistant
from assistant.text.sentences import SentenceSplitter
from assistant.types import AudioChunk, Turn, Utterance

log = logging.getLogger(__name__)


class Source(Protocol):
    def read(self, timeout: float | None = None) -> np.ndarray | None: ...  # 16 kHz mono float32
    def drain(self) -> int: ...


class Sink(Protocol):
    def play(self, chunk: AudioChunk) -> None: ...
    def stop(self) -> float: ...
    def wait_done(self, timeout: float | None = None) -> bool: ...
    def played_seconds(self) -> float: ...
    @property
    def is_playing(self) -> bool: ...


@dataclass
class _Spoken:
    """What the speech thread has queued for one turn, to know what the user actually heard."""

    start_played: float  # speaker.played_seconds() when the turn's first audio was queued
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


@dataclass
class _ActiveTurn:
    turn: Turn
    cancel: threading.Event = field(default_factory=threading.Event)
    speaking: bool = False


class ChatLoop:
    def __init__(self, bot: Assistant, source: Source, sink: Sink, endpointer: Any, captions: Captions,
                 settings: AudioSettings, clock=time.monotonic) -> None:
        self.bot = bot
        self.source = source
        self.sink = sink
        self.endpointer = endpointer
        self.captions = captions
        self.settings = settings
        self.clock = clock
        self.stop_event = threading.Event()
        self._work: queue.Queue[Utterance | None] = queue.Queue()
        self._active: _ActiveTurn | None = None
        self._active_lock = threading.Lock()
        self._half_duplex_muted = False
        self.barge_in_latencies: list[float] = []  # seconds, speech onset → speaker stopped
        # Words of a turn the user interrupted before any reply (a pause mid-sentence): they
        # belong to the next utterance, so they are prepended to it rather than lost.
        self._carry = ""
        self.turns: list[Turn] = []

    # ------------------------------------------------------------------ main thread

    def run(self, greet: bool = True) -> None:
        worker = threading.Thread(target=self._turn_worker, name="turns", daemon=True)
        worker.start()
        if greet:
            self._say_message("ready", self.bot.config.language.default)
        self._cue(listening_cue)
        self.captions.status("listening")
        try:
            while not self.stop_event.is_set():
                block = self.source.read(timeout=0.05)
                if block is None:
                    continue
                if self._muted():
                    continue
                for event in self.endpointer.feed(block):
                    self._on_event(event)
        finally:
            self.stop_event.set()
            self._cancel_active("stopped")
            self._work.put(None)
            worker.join(timeout=0.8)
            self.captions.close()

    def stop(self) -> None:
        self.stop_event.set()

    def _muted(self) -> bool:
        """Half duplex: don't listen while the assistant talks (no echo cancellation)."""
        if not self.settings.half_duplex:
            return False
        active = self._active
        busy = self.sink.is_playing or (active is not None and active.speaking)
        if busy:
            self._half_duplex_muted = True
            return True
        if self._half_duplex_muted:  # playback just ended: forget the echo we may have half-heard
            self._half_duplex_muted = False
            self.source.drain()
            self.endpointer.reset()
        return False

    def _on_event(self, event: Any) -> None:
        if isinstance(event, SpeechStarted):
            if self.settings.barge_in and not event.continuation:
                delay = event.detected_offset - event.offset  # confirmation delay inside the VAD
                self._barge_in(onset=event.time - delay)
        elif isinstance(event, Utterance):
            if event.speech_ratio is not None and event.speech_ratio < self.settings.min_speech_ratio:
                self._log_refused(event, f"the voice detector heard speech in only {event.speech_ratio:.0%} of it")
                return
            self._work.put(event)
        elif isinstance(event, SpeechDiscarded):
            log.debug("ignored %.2f s of sound: %s", event.duration, event.reason)

    def _barge_in(self, onset: float) -> None:
        with self._active_lock:
            active = self._active
            if active is None or active.cancel.is_set():
                return
            active.cancel.set()
        self.sink.stop()
        latency = self.clock() - onset
        self.barge_in_latencies.append(latency)
        active.turn.interrupted = True
        active.turn.timings_ms["barge_in"] = latency * 1000.0
        self.captions.reply_end(interrupted=True)
        self.captions.status("listening")

    def _cancel_active(self, why: str) -> None:
        with self._active_lock:
            active = self._active
        if active is not None:
            active.cancel.set()
            self.sink.stop()

    # ------------------------------------------------------------------ turn thread

    def _turn_worker(self) -> None:
        while True:
            item = self._work.get()
            if item is None or self.stop_event.is_set():
                return
            self._run_turn(item)

    def _run_turn(self, utterance: Utterance) -> None:
        bot = self.bot
        turn = bot.new_turn(utterance.source or "microphone")
        active = _ActiveTurn(turn)
        with self._active_lock:
            self._active = active
        t_start = time.perf_counter()
        if utterance.ended_at is not None:  # the silence the endpointer waited for, plus any queueing
            turn.timings_ms["endpointing"] = (self.clock() - utterance.ended_at) * 1000.0
        language = bot.config.language.default
        try:
            self.captions.status("thinking")
            self._cue(thinking_cue)
            heard = bot.hear(utterance, turn.timings_ms)
            turn.transcript, turn.decision = heard.transcript, heard.decision
            if heard.no_speech:
                turn.status, turn.notice = "no_speech", heard.no_speech
                log.info("not answered: %s", heard.no_speech)
                return
            assert heard.transcript and heard.decision
            language = heard.decision.language
            text = heard.transcript.text
            if self._carry:
                text, self._carry = f"{self._carry} {text}", ""
            self.captions.heard(turn)
            if active.cancel.is_set():  # the user went on talking: answer it all together
                self._carry = text
                turn.notice = "the user went on speaking; joined to the next utterance"
                return
            command = bot.language_command(text, language)
            turn.reply_language = bot._reply_language(language)
            if command is not None:
                turn.status, turn.reply_text = "command", command.confirmation
                self._speak_text(active, command.confirmation, turn.reply_language, utterance)
                return
            self._stream_reply(active, text, language, utterance)
        except AssistantError as e:
            turn.status, turn.error = "failed", str(e)
            self.captions.error(str(e))
            self._cue(error_cue)
            self._say_message("llm_error" if isinstance(e, LLMConnectionError) else "error",
                              turn.reply_language or language)
        finally:
            turn.timings_ms["total"] = (time.perf_counter() - t_start) * 1000.0
            with self._active_lock:
                self._active = None
            self.turns.append(turn)
            try:
                bot.turn_log.append(turn.to_dict())
            except AssistantError as e:
                self.captions.error(str(e))
            if turn.status != "no_speech":
                self.captions.timings(turn)
            if not self.stop_event.is_set():
                if turn.status != "no_speech" and not turn.interrupted:
                    self._cue(listening_cue)
                self.captions.status("listening")

    def _stream_reply(self, active: _ActiveTurn, text: str, language: str, utterance: Utterance) -> None:
        bot, turn = self.bot, active.turn
        reply_language = turn.reply_language or language
        sentences: queue.Queue[str | None] = queue.Queue()
        spoken = _Spoken(start_played=self.sink.played_seconds())
        speech = threading.Thread(target=self._speech_worker, args=(active, sentences, reply_language, spoken),
                                  name="speech", daemon=True)
        t0 = time.perf_counter()
        insist: str | None = None
        parts: list[str] = []
        try:
            for attempt in range(2):
                splitter = SentenceSplitter(reply_language)
                parts, checked, retry = [], False, False
                gen = bot.think(text, language, insist)
                try:
                    for token in gen:
                        if active.cancel.is_set():
                            break
                        if not parts and "llm_first_token" not in turn.timings_ms:
                            turn.timings_ms["llm_first_token"] = (time.perf_counter() - t0) * 1000.0
                        parts.append(token)
                        for sentence in splitter.push(token):
                            if not checked:
                                # The first sentence decides: a reply in the wrong language is
                                # regenerated once before anything is spoken.
                                checked = True
                                check = bot.check_reply(sentence, reply_language)
                                if check is not None:
                                    turn.reply_check = check.to_dict() | {"retried": attempt == 1}
                                    if not check.ok and attempt == 0:
                                        insist, retry = check.detected, True
                                        break
                                self.captions.reply_start(reply_language)
                                if not speech.is_alive():
                                    speech.start()
                            self.captions.reply_text(sentence + " ")
                            sentences.put(sentence)
                        if retry:
                            break
                finally:
                    gen.close()  # stops generation at once (barge-in or retry)
                if not retry:
                    break
            if not active.cancel.is_set():
                rest = splitter.flush()
                if rest:
                    if not speech.is_alive():
                        self.captions.reply_start(reply_language)
                        speech.start()
                    self.captions.reply_text(rest)
                    sentences.put(rest)
        except BaseException:
            # an LLM failure mid-reply: let what is already queued be spoken, then stop the
            # speech thread (it waits for the end marker) before the error is reported
            sentences.put(None)
            if speech.is_alive():
                speech.join()
                self.captions.reply_end(interrupted=True)
            raise
        turn.timings_ms["llm"] = (time.perf_counter() - t0) * 1000.0
        turn.reply_text = "".join(parts).strip()
        sentences.put(None)
        if speech.is_alive():
            speech.join()
            self.captions.reply_end(interrupted=active.cancel.is_set())
        # Wait for the audio to be heard, unless the user interrupts.
        while not active.cancel.is_set() and self.sink.is_playing and not self.stop_event.is_set():
            self.sink.wait_done(timeout=0.05)
        active.speaking = False
        if spoken.first_audio_at is not None and utterance.ended_at is not None:
            turn.timings_ms["first_audio"] = (spoken.first_audio_at - utterance.ended_at) * 1000.0
        if spoken.first_synth_ms is not None:
            turn.timings_ms["tts_first_audio"] = spoken.first_synth_ms
        if not turn.reply_text and not active.cancel.is_set():
            from assistant.errors import StageError

            raise StageError("llm", "the language model returned an empty reply")
        heard = turn.reply_text if not active.cancel.is_set() else spoken.heard_text(
            self.sink.played_seconds() - spoken.start_played)
        if turn.interrupted:
            turn.notice = f"interrupted; the user heard: {heard!r}"
        bot.remember(text, heard)

    def _speech_worker(self, active: _ActiveTurn, sentences: "queue.Queue[str | None]", language: str,
                       spoken: _Spoken) -> None:
        turn = active.turn
        tts_ms = 0.0
        while True:
            sentence = sentences.get()
            if sentence is None or active.cancel.is_set():
                break
            t0 = time.perf_counter()
            try:
                voice, chunks = self.bot.speak(sentence, language)
                turn.voice = voice
                seconds = 0.0
                for chunk in chunks:
                    if active.cancel.is_set():
                        break
                    if spoken.first_audio_at is None:
                        spoken.first_synth_ms = (time.perf_counter() - t0) * 1000.0
                        spoken.first_audio_at = self.clock()
                        self.captions.status("speaking")
                    active.speaking = True
                    self.sink.play(chunk)
                    seconds += chunk.duration
                spoken.sentences.append((sentence, seconds))
            except NoVoiceError as e:
                turn.notice = f"{e}: the reply is shown as text only"
                self.captions.notice(turn.notice)
                # say so aloud, in the language the assistant speaks by default
                self._say_message("no_voice", self.bot.config.language.default, name=name_of(language))
                break
            except AssistantError as e:
                turn.error = str(e)
                self.captions.error(str(e))
                break
            finally:
                tts_ms += (time.perf_counter() - t0) * 1000.0
        turn.timings_ms["tts"] = tts_ms
        # drain what the LLM still queues so it never blocks
        while sentence is not None:
            sentence = sentences.get()

    # ------------------------------------------------------------------ helpers

    def _speak_text(self, active: _ActiveTurn, text: str, language: str, utterance: Utterance) -> None:
        spoken = _Spoken(start_played=self.sink.played_seconds())
        q: queue.Queue[str | None] = queue.Queue()
        q.put(text)
        q.put(None)
        self.captions.reply_start(language)
        self.captions.reply_text(text)
        self._speech_worker(active, q, language, spoken)
        self.captions.reply_end()
        while not active.cancel.is_set() and self.sink.is_playing and not self.stop_event.is_set():
            self.sink.wait_done(timeout=0.05)
        if spoken.first_audio_at is not None and utterance.ended_at is not None:
            active.turn.timings_ms["first_audio"] = (spoken.first_audio_at - utterance.ended_at) * 1000.0

    def _say_message(self, key: str, language: str, **values: str) -> None:
        text, lang = message(key, language, **values)
        try:
            _, chunks = self.bot.speak(text, lang)
            for chunk in chunks:
                self.sink.play(chunk)
        except AssistantError as e:  # an error message that can't be spoken is still printed
            log.warning("could not speak %r: %s", text, e)

    def _cue(self, make) -> None:
        if self.settings.cues:
            self.sink.play(make(volume=self.settings.cue_volume))

    def _log_refused(self, utterance: Utterance, reason: str) -> None:
        turn = self.bot.new_turn(utterance.source or "microphone")
        turn.status, turn.notice = "no_speech", reason
        self.turns.append(turn)
        self.bot.turn_log.append(turn.to_dict())
