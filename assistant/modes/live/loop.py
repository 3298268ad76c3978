"""The live voice loop: microphone → endpointing → the turn engine → speaker.

This module owns what is live-specific; a turn itself is ``assistant.engine.TurnEngine``'s:

- the **main thread** reads the microphone and runs the VAD/endpointer (cheap, ~1 ms a block), so
  speech onset is noticed at once, whatever the models are doing — that is what makes barge-in fast;
- a **turn thread** runs one engine turn at a time (the engine adds a speech thread per turn that
  queues sentences on the speaker while the LLM is still generating);
- ``LiveSink`` puts the engine's output on the speaker and the captions, with the cues.

Barge-in sets the turn's cancel event and stops the speaker; the engine closes the LLM stream,
drops queued sentences, and keeps in the history only what was actually heard. Every turn,
finished, refused or failed, is appended to the JSONL log by the engine.
"""

from __future__ import annotations

import copy
import logging
import queue
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Protocol, runtime_checkable

import numpy as np

from assistant.audio.cues import command_cue, error_cue, listening_cue, thinking_cue
from assistant.audio.endpointing import Pause, SpeechDiscarded, SpeechStarted
from assistant.audio.settings import AudioSettings
from assistant.core.errors import AssistantError
from assistant.core.types import AudioChunk, Turn, Utterance
from assistant.engine import ReplySink, TurnPolicy
from assistant.engine.stages import Heard, ms_since
from assistant.engine.turn import Spoken as _Spoken  # noqa: F401  (what tests know it as)
from assistant.modes.file import Assistant
from assistant.modes.live.captions import Captions

log = logging.getLogger(__name__)


class Source(Protocol):
    def read(self, timeout: float | None = None) -> np.ndarray | None: ...  # 16 kHz mono float32
    def drain(self) -> int: ...


class Sink(Protocol):
    """The speaker the live loop plays on (``assistant.audio.playback.Speaker``)."""

    def play(self, chunk: AudioChunk) -> Any: ...
    def stop(self) -> float: ...
    def wait_done(self, timeout: float | None = None) -> bool: ...
    def played_seconds(self) -> float: ...
    @property
    def is_playing(self) -> bool: ...


@runtime_checkable
class TimedSink(Sink, Protocol):
    """A speaker that knows when a sound reaches the listener (its DAC time, device buffers and
    audio queued ahead included): ``play(chunk, watch=True)`` returns the place of the chunk's
    first sample, ``heard_at(place)`` the engine-clock time it was heard (None: not yet, or the
    place is unknown). ``LiveSink`` then reports the reply's first sound as heard, not as sent."""

    def play(self, chunk: AudioChunk, watch: bool = False) -> int | None: ...
    def heard_at(self, place: int) -> float | None: ...


class LiveSink(ReplySink):
    """The turn engine's output in live mode: audio to the speaker, text to the captions, and the
    cues (thinking, error) the user hears."""

    def __init__(self, speaker: Sink, captions: Captions, settings: AudioSettings, earcon: bool = True,
                 shape=None) -> None:
        self.speaker, self.captions, self.settings = speaker, captions, settings
        self.earcon = earcon  # commands.earcon: a sound when a voice command is understood
        self.shape = shape or (lambda chunk: chunk)  # the session's volume for the cues too
        self.speaking = False  # reply audio has gone to the speaker this turn (half duplex)
        self._timed = speaker if isinstance(speaker, TimedSink) else None
        self._first: int | None = None  # the speaker's place of this turn's first reply sample

    def cue(self, make) -> None:
        if self.settings.cues:
            self.speaker.play(self.shape(make(volume=self.settings.cue_volume)))

    def command(self, kind: str) -> None:
        if self.earcon:
            self.cue(command_cue)

    def status(self, state: str) -> None:
        self.captions.status(state)
        if state == "thinking":
            self.cue(thinking_cue)

    def heard(self, turn: Turn) -> None:
        self.captions.heard(turn)

    def reply_start(self, language: str) -> None:
        self.captions.reply_start(language)

    def reply_text(self, text: str) -> None:
        self.captions.reply_text(text)

    def audio(self, chunk: AudioChunk) -> None:
        if not self.speaking:
            self._first = None
        if self._first is None and self._timed is not None:  # the turn's first reply sound
            self._first = self._timed.play(chunk, watch=True)
        else:
            self.speaker.play(chunk)
        self.speaking = True

    def first_heard_at(self) -> float | None:
        first = self._first if self.speaking else None
        return self._timed.heard_at(first) if first is not None and self._timed is not None else None

    def reply_end(self, interrupted: bool = False) -> None:
        self.captions.reply_end(interrupted=interrupted)

    def notice(self, text: str) -> None:
        self.captions.notice(text)

    def error(self, text: str) -> None:
        self.captions.error(text)
        self.cue(error_cue)

    def played_seconds(self) -> float:
        return self.speaker.played_seconds()

    def wait_played(self, cancel: threading.Event) -> None:
        while not cancel.is_set() and self.speaker.is_playing:
            self.speaker.wait_done(timeout=0.05)


@dataclass
class _EarlyJob:
    utterance: Utterance
    thread: threading.Thread | None = None
    heard: Heard | None = None
    ms: float = 0.0
    discarded: bool = False


class EarlySTT:
    """``audio.early_stt``: speech recognition started at the endpointer's first pause, one job at
    a time. The turn uses the result when its utterance is the one that was heard early (the user
    did not go on); otherwise the job's CPU time was wasted, and the next turn logs it as
    ``stt_wasted``; a reused result logs ``stt_early`` (its STT time) and ``stt`` (the wait)."""

    def __init__(self, bot: Assistant) -> None:
        self.stages, self.session = bot.engine.stages, bot.session
        self._job: _EarlyJob | None = None
        self._lock = threading.Lock()
        self.wasted_ms = 0.0
        self.stages.early_hearing = self.hear

    def start(self, utterance: Utterance, on_heard: Callable[[Heard], None] | None = None) -> None:
        """``on_heard``: called from the job's thread with its result (the end-of-turn decision
        reads the transcript's last words)."""
        with self._lock:
            old = self._job
            if old is not None and old.thread is not None and old.thread.is_alive():
                return  # 2 cores: never two transcriptions at once
            if old is not None:
                self._discard(old)
            job = self._job = _EarlyJob(utterance)
        state = copy.copy(self.session.language)
        job.thread = threading.Thread(target=self._run, args=(job, state, on_heard), name="early-stt", daemon=True)
        job.thread.start()

    def _run(self, job: _EarlyJob, state, on_heard: Callable[[Heard], None] | None = None) -> None:
        timings: dict[str, float] = {}
        try:
            job.heard = self.stages.recognise(job.utterance, state, timings)
            if on_heard is not None and job.heard is not None:
                on_heard(job.heard)
        except Exception as e:  # the turn will run the STT itself and report any failure
            log.debug("early STT failed: %s", e)
        with self._lock:
            job.ms = timings.get("stt", 0.0)
            if job.discarded:
                self.wasted_ms += job.ms

    def _discard(self, job: _EarlyJob) -> None:  # under the lock
        if not job.discarded:
            job.discarded = True
            if job.thread is not None and not job.thread.is_alive():
                self.wasted_ms += job.ms

    def hear(self, utterance: Utterance, timings: dict[str, float]) -> Heard | None:
        with self._lock:
            job, self._job = self._job, None
            same = job is not None and job.utterance.speech_ratio == utterance.speech_ratio and \
                np.array_equal(job.utterance.audio.samples, utterance.audio.samples)
            if job is not None and not same:
                self._discard(job)
            if self.wasted_ms:
                timings["stt_wasted"], self.wasted_ms = self.wasted_ms, 0.0
        if not same:
            return None
        t0 = time.perf_counter()
        job.thread.join()
        if job.heard is None:
            return None
        timings["stt"], timings["stt_early"] = ms_since(t0), job.ms
        return job.heard


@dataclass
class _ActiveTurn:
    turn: Turn
    cancel: threading.Event = field(default_factory=threading.Event)


STOP_WAIT_S = 0.3  # at Ctrl-C, how long the turn thread may take to log its turn itself

LIVE = TurnPolicy(stream=True, say_errors=True, raise_errors=False, feedback=True)


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
        self.engine, self.session = bot.engine, bot.session
        commands = bot.config.commands
        self.reply = LiveSink(sink, captions, settings, earcon=commands.earcon,
                              shape=lambda chunk: _volume_only(self.session.commands, chunk))
        self._active: _ActiveTurn | None = None
        self._active_lock = threading.Lock()
        self._half_duplex_muted = False
        self.barge_in_latencies: list[float] = []  # seconds, speech onset → speaker stopped
        self.turns: list[Turn] = []
        self.early = EarlySTT(bot) if settings.early_stt else None

    # ------------------------------------------------------------------ main thread

    def run(self, greet: bool = True) -> None:
        worker = threading.Thread(target=self._turn_worker, name="turns", daemon=True)
        worker.start()
        if greet:
            # starter models stand in
            keys = (["starter"] if getattr(self.bot, "model_notes", None) else []) + ["ready"]
            for key in keys:
                for chunk in self.engine.message_audio(key, self.bot.config.language.default):
                    self.sink.play(chunk)
        self.reply.cue(listening_cue)
        self.captions.status("listening")
        try:
            while not self.stop_event.is_set():
                block = self.source.read(timeout=0.05)
                if block is None:
                    continue
                if self._muted():
                    continue
                for event in self.endpointer.feed(block, getattr(self.source, "captured_until", None)):
                    self._on_event(event)
        finally:
            self.stop_event.set()
            with self._active_lock:
                active = self._active
            self._cancel_active("stopped")
            self._work.put(None)
            worker.join(timeout=STOP_WAIT_S)
            if worker.is_alive() and active is not None:
                self._log_stopped(active.turn)
            self.captions.close()

    def _log_stopped(self, turn: Turn) -> None:
        """Ctrl-C while a stage can't be interrupted (a Whisper decode, an LLM prefill): the turn
        is logged as interrupted from here, so the process can end now instead of after the stage
        (the turn log writes each id once, whichever thread comes first)."""
        turn.status, turn.interrupted = "interrupted", True
        turn.notice = turn.notice or "stopped while a stage was still working"
        try:
            self.engine.turn_log.append(turn.to_dict() | {"session": self.session.id})
        except AssistantError as e:
            self.captions.notice(str(e))

    def stop(self) -> None:
        self.stop_event.set()

    def _muted(self) -> bool:
        """Half duplex: don't listen while the assistant talks (no echo cancellation)."""
        if not self.settings.half_duplex:
            return False
        active = self._active
        busy = self.sink.is_playing or (active is not None and self.reply.speaking)
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
            self._work.put(event)  # the engine refuses it when it holds too little speech
        elif isinstance(event, Pause) and self.early is not None:
            self.early.start(event.utterance, self._transcript_hint())
        elif isinstance(event, SpeechDiscarded):
            log.debug("ignored %.2f s of sound: %s", event.duration, event.reason)

    def _transcript_hint(self) -> Callable[[Heard], None] | None:
        """With ``end_of_turn: combined``: hand the early transcript to the decision, for this
        pause only (the user may have gone on by the time it is ready)."""
        decision = getattr(self.endpointer, "end_of_turn", None)
        if decision is None:
            return None
        pause = decision.pause_id

        def hint(heard: Heard) -> None:
            if heard.transcript is not None:
                decision.hint(heard.transcript.text, heard.transcript.language, pause_id=pause)
        return hint

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
        turn = self.session.new_turn(utterance.source or "microphone")
        if utterance.ended_at is not None:  # the silence the endpointer waited for, plus any queueing
            turn.timings_ms["endpointing"] = (self.clock() - utterance.ended_at) * 1000.0
        if utterance.capture_delay is not None:  # of which: device buffers and the microphone queue
            turn.timings_ms["capture"] = utterance.capture_delay * 1000.0
        active = _ActiveTurn(turn)
        self.reply.speaking = False
        with self._active_lock:
            self._active = active
        try:
            self.engine.run(self.session, utterance, self.reply, LIVE, turn=turn, cancel=active.cancel)
        finally:
            with self._active_lock:
                self._active = None
            self.reply.speaking = False
            self.turns.append(turn)
        self.session.after_turn(turn, self.endpointer, self.settings.min_silence_ms)  # patient mode
        if turn.status not in ("no_speech", "ignored"):
            self.captions.timings(turn)
        if not self.stop_event.is_set():
            if turn.status not in ("no_speech", "ignored") and not turn.interrupted:
                self.reply.cue(listening_cue)
            self.captions.status("listening")


def _volume_only(state, chunk: AudioChunk) -> AudioChunk:
    """A cue at the session's volume (not its speaking rate: a cue is a sound, not speech)."""
    from assistant.commands.session import apply_gain

    return (chunk if abs(state.volume - 1.0) < 1e-3
            else AudioChunk(apply_gain(chunk.samples, state.volume), chunk.sample_rate))
