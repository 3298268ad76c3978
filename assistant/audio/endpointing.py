"""Endpointing: cut a live 16 kHz stream into utterances with a VAD.

Feed blocks of any size; the endpointer re-blocks them into 32 ms frames (512 samples), asks the
VAD for each, and returns events:

- :class:`SpeechStarted` as soon as speech is confirmed (``start_frames`` speech frames in a row,
  64 ms by default): the barge-in trigger. ``offset`` is where the speech began in the stream.
- :class:`~assistant.core.types.Utterance` when the speech ends (``min_silence_ms`` of non-speech) or
  reaches ``max_utterance_s``; its audio starts ``pre_roll_ms`` before the onset (soft onsets the
  VAD misses, e.g. "h" or "f") and keeps up to ``post_roll_ms`` of the silence that ended it.
- :class:`Pause` (with ``early=True``) when the speech has paused for ``post_roll_ms``: its audio is
  exactly the Utterance that follows if the speech does not go on, so speech recognition can
  start before the turn is certain.
- :class:`SpeechDiscarded` when what started was shorter than ``min_speech_ms`` of speech (a
  cough, a click, a door): no Utterance follows, so a barge-in it triggered can be undone.

With a ``turn_detector`` (Smart Turn, see :mod:`assistant.audio.smart_turn`) a pause of
``detector_silence_ms`` asks it whether the words so far are a finished turn: yes ends the
utterance there; no waits for ``min_silence_ms`` (then the long, patient silence) as without it.
With an ``end_of_turn`` decision (:class:`~assistant.audio.turn_end.CombinedEndOfTurn`) it is asked
at every frame of a pause whether the turn is over, and told the speaker's pauses (speech that went
on after a pause, and speech that began soon after a turn it ended); ``min_silence_ms`` is then the
latest end, and a longer one set by ``set_min_silence_ms`` (patient mode) overrides the decision.

``feed(block, captured_until)``: when the caller knows the monotonic time at which the block's
last sample was captured (:attr:`Microphone.captured_until`), an utterance's ``ended_at`` is when
the speech really ended at the microphone, device buffers and queueing included, and
``capture_delay`` says how far behind the stream the endpointer ran.

Hysteresis (as Silero's own iterator): a frame starts speech at ``threshold`` but keeps it going
down to ``threshold - 0.15``. Plain blocking class; the caller owns threads.
"""

from __future__ import annotations

import collections
import time
from dataclasses import dataclass
from typing import Any, Callable, Union

import numpy as np

from assistant.audio.vad import FRAME, SAMPLE_RATE, VAD
from assistant.core.types import AudioChunk, Utterance

FRAME_S = FRAME / SAMPLE_RATE


@dataclass(frozen=True)
class SpeechStarted:
    offset: float  # stream seconds (since the start or the last reset) where the speech began
    time: float  # the clock when it was confirmed (this event's emission)
    detected_offset: float  # stream seconds at confirmation: offset + the confirmation delay
    continuation: bool = False  # True for the next part of an utterance split at max length


@dataclass(frozen=True)
class SpeechDiscarded:
    offset: float
    duration: float  # seconds of speech frames, below min_speech_ms
    time: float
    reason: str = "too short"


@dataclass(frozen=True)
class Pause:
    utterance: Utterance  # as it will be emitted if the speech does not go on (ended_at aside)
    time: float


Event = Union[SpeechStarted, Utterance, SpeechDiscarded, Pause]


class Endpointer:
    def __init__(self, vad: VAD, threshold: float = 0.5, min_silence_ms: float = 500,
                 min_speech_ms: float = 250, max_utterance_s: float = 30.0, pre_roll_ms: float = 300,
                 post_roll_ms: float = 200, start_frames: int = 2, neg_threshold: float | None = None,
                 clock: Callable[[], float] = time.monotonic, source: str = "microphone",
                 turn_detector: Callable[[np.ndarray], bool] | None = None,
                 detector_silence_ms: float = 200, early: bool = False, end_of_turn: Any = None) -> None:
        if max_utterance_s <= 0 or min_silence_ms <= 0:
            raise ValueError("max_utterance_s and min_silence_ms must be positive")
        self.turn_detector = turn_detector
        self.end_of_turn = end_of_turn
        self.early = early
        self.detector_frames = max(1, round(detector_silence_ms / 1000 / FRAME_S))
        # what the detector said at the latest pause it was asked about: (stream offset, complete,
        # seconds it took); benchmarks and the turn log read it
        self.last_decision: tuple[float, bool, float] | None = None
        self.vad = vad
        self.threshold = threshold
        self.neg_threshold = max(0.01, threshold - 0.15) if neg_threshold is None else neg_threshold
        self.min_silence_frames = max(1, round(min_silence_ms / 1000 / FRAME_S))
        self.min_speech_frames = max(1, round(min_speech_ms / 1000 / FRAME_S))
        self.max_frames = max(self.min_speech_frames + 1, int(max_utterance_s / FRAME_S))
        self.pre_roll_frames = max(0, round(pre_roll_ms / 1000 / FRAME_S))
        self._post_roll_wanted = max(0, round(post_roll_ms / 1000 / FRAME_S))
        self.post_roll_frames = min(self._post_roll_wanted, self.min_silence_frames)
        self._decision_frames = self.min_silence_frames  # beyond this (patient mode) no early decision
        self._end_frame: int | None = None  # frame index where the speech of the last turn ended
        self.start_frames = max(1, start_frames)
        self.clock = clock
        self.source = source
        self.last_probability = 0.0
        self.reset()

    def set_min_silence_ms(self, min_silence_ms: float) -> None:
        """Change the end-of-turn silence between utterances (patient mode), keeping the rest."""
        if min_silence_ms <= 0:
            raise ValueError("min_silence_ms must be positive")
        self.min_silence_frames = max(1, round(min_silence_ms / 1000 / FRAME_S))
        self.post_roll_frames = min(self._post_roll_wanted, self.min_silence_frames)

    def reset(self) -> None:
        """Forget everything: pending samples, a started utterance, the VAD's state."""
        self._pending = np.zeros(0, np.float32)
        self._frame_index = 0  # frames processed since the reset
        self._pre_roll: collections.deque[np.ndarray] = collections.deque(maxlen=self.pre_roll_frames or 1)
        self._candidate: list[np.ndarray] = []  # speech frames not yet confirmed
        self._in_speech = False
        self._frames: list[np.ndarray] = []  # the utterance so far, pre-roll included
        self._lead = 0  # how many of _frames are pre-roll
        self._onset = 0  # frame index of the first speech frame
        self._speech_count = 0
        self._silence_run = 0
        self._frame_captured: float | None = None  # capture time of the latest frame's end, if known
        self._end_frame = None
        self._soft_run = 0
        self.vad.reset()

    @property
    def in_speech(self) -> bool:
        return self._in_speech

    @property
    def offset(self) -> float:
        """Stream seconds processed so far."""
        return self._frame_index * FRAME_S

    def feed(self, block: np.ndarray, captured_until: float | None = None) -> list[Event]:
        """Process 16 kHz float32 mono samples (any count); return the events they complete.
        ``captured_until``: the clock time at which the block's last sample was captured."""
        x = np.asarray(block, dtype=np.float32).reshape(-1)
        data = np.concatenate([self._pending, x]) if len(self._pending) else x
        n = len(data) // FRAME
        events: list[Event] = []
        for i in range(n):
            if captured_until is not None:  # when this frame's last sample was captured
                self._frame_captured = captured_until - (len(data) - (i + 1) * FRAME) / SAMPLE_RATE
            events.extend(self._frame(data[i * FRAME:(i + 1) * FRAME].copy()))
        self._pending = data[n * FRAME:].copy()
        return events

    def flush(self) -> list[Event]:
        """End of stream: finish an utterance in progress (samples short of a frame are dropped)."""
        self._pending = np.zeros(0, np.float32)
        self._candidate = []
        return self._finish(silence_run=self._silence_run) if self._in_speech else []

    # -- per frame -----------------------------------------------------------------------------
    def _frame(self, frame: np.ndarray) -> list[Event]:
        p = float(self.vad.speech_probability(frame))
        self.last_probability = p
        index = self._frame_index
        self._frame_index += 1
        if not self._in_speech:
            # frames in a row at least at the speech-keeping threshold: where speech resumed, by the
            # measure a pause inside an utterance ends with (for the speaker's habits)
            self._soft_run = self._soft_run + 1 if p >= self.neg_threshold else 0
            if p >= self.threshold:
                self._candidate.append(frame)
                if len(self._candidate) >= self.start_frames:
                    return [self._start(index - len(self._candidate) + 1)]
                return []
            for f in self._candidate:  # not confirmed: it was background after all
                self._pre_roll.append(f)
            self._candidate = []
            if self.pre_roll_frames:
                self._pre_roll.append(frame)
            return []
        self._frames.append(frame)
        if p >= self.neg_threshold:
            if self._silence_run and self.end_of_turn is not None:  # the speaker went on after a pause
                self.end_of_turn.speech_resumed(self._silence_run * FRAME_S * 1000)
            self._speech_count += 1
            self._silence_run = 0
        else:
            self._silence_run += 1
            if self._silence_run >= self.min_silence_frames:
                return self._finish(silence_run=self._silence_run)
            if self.end_of_turn is not None and self.min_silence_frames <= self._decision_frames:
                if self._silence_run == 1:
                    self.end_of_turn.pause_started()
                t0 = self.clock()
                asks = self.end_of_turn.asks
                done = self.end_of_turn.ended(self._silence_run * FRAME_S * 1000,
                                              lambda: np.concatenate(self._frames))
                lag = self.clock() - t0
                if self.end_of_turn.asks != asks:  # the model was asked
                    self.last_decision = (self.offset, done, lag)
                if done:
                    return self._finish(silence_run=self._silence_run, lag=lag)
            if self._silence_run == self.detector_frames and self.turn_detector is not None:
                t0 = self.clock()
                # the utterance so far, a little before its onset up to now (silence included),
                # as Pipecat feeds Smart Turn
                done = bool(self.turn_detector(np.concatenate(self._frames)))
                self.last_decision = (self.offset, done, self.clock() - t0)
                if done:  # the clock moved on while the model decided: not part of the wait
                    return self._finish(silence_run=self._silence_run, lag=self.last_decision[2])
            if (self.early and self._silence_run == self.post_roll_frames
                    and self._speech_count >= self.min_speech_frames):
                spoken = len(self._frames) - self._lead - self._silence_run
                return [Pause(Utterance(audio=AudioChunk(np.concatenate(self._frames), SAMPLE_RATE),
                                        source=self.source,
                                        speech_ratio=round(self._speech_count / max(spoken, 1), 3)),
                              self.clock())]
        if len(self._frames) >= self.max_frames:
            return self._split()
        return []

    def _start(self, onset: int, continuation: bool = False) -> SpeechStarted:
        if self.end_of_turn is not None and self._end_frame is not None and not continuation:
            resumed = max(self._end_frame, self._frame_index - self._soft_run)
            self.end_of_turn.resumed_after_end((resumed - self._end_frame) * FRAME_S * 1000)
        self._end_frame = None
        self._in_speech = True
        self._onset = onset
        lead = list(self._pre_roll) if self.pre_roll_frames and not continuation else []
        self._frames = lead + self._candidate
        self._lead = len(lead)
        self._speech_count = len(self._candidate)
        self._candidate = []
        self._pre_roll.clear()
        self._silence_run = 0
        return SpeechStarted(offset=onset * FRAME_S, time=self.clock(),
                             detected_offset=self._frame_index * FRAME_S, continuation=continuation)

    def _finish(self, silence_run: int, lag: float = 0.0) -> list[Event]:
        """Close the utterance whose last ``silence_run`` frames were silence (``lag``: seconds
        this call is behind the stream, e.g. spent in the turn detector)."""
        now = self.clock() - lag
        captured = self._frame_captured if self._frame_captured is not None else now
        keep = len(self._frames) - silence_run + min(silence_run, self.post_roll_frames)
        frames, speech_frames = self._frames, self._speech_count
        spoken = len(frames) - self._lead - silence_run  # onset .. last speech frame
        trailing = frames[len(frames) - silence_run:] if silence_run else []
        self._in_speech = False
        self._frames = []
        self._speech_count = 0
        self._silence_run = 0
        self._end_frame = self._frame_index - silence_run
        self._soft_run = 0
        self.vad.reset()  # Silero: a fresh recurrent state for the next utterance
        self._pre_roll.clear()
        if self.pre_roll_frames:
            self._pre_roll.extend(trailing[-self.pre_roll_frames:])
        if speech_frames < self.min_speech_frames:
            self._end_frame = None  # a cough is no turn the speaker could go on from
            return [SpeechDiscarded(offset=self._onset * FRAME_S, duration=speech_frames * FRAME_S, time=now)]
        audio = AudioChunk(np.concatenate(frames[:keep]), SAMPLE_RATE)
        # ended_at: when the speech ended at the microphone (detection is later by the silence run,
        # and by the capture delay when the caller gave capture times); what turn latency starts from
        return [Utterance(audio=audio, source=self.source,
                          speech_ratio=round(speech_frames / max(spoken, 1), 3),
                          ended_at=captured - silence_run * FRAME_S, capture_delay=max(0.0, now - captured))]

    def _split(self) -> list[Event]:
        """Max length reached in mid-speech: emit what we have and go on with a new part."""
        now = self.clock()
        captured = self._frame_captured if self._frame_captured is not None else now
        frames, speech_frames = self._frames, self._speech_count
        spoken = len(frames) - self._lead
        utterance = Utterance(audio=AudioChunk(np.concatenate(frames), SAMPLE_RATE), source=self.source,
                              speech_ratio=round(speech_frames / max(spoken, 1), 3), ended_at=captured,
                              capture_delay=max(0.0, now - captured))
        started = self._start(self._frame_index, continuation=True)
        return [utterance, started]


def make_endpointer(audio: Any, vad: VAD | None = None, **extra: Any) -> Endpointer:
    """The endpointer the ``audio:`` settings describe (loads Smart Turn when it is chosen)."""
    from assistant.audio.vad import make_vad

    detector = combined = None
    min_silence_ms = audio.min_silence_ms
    if audio.end_of_turn == "combined":
        from assistant.audio.turn_end import CombinedEndOfTurn

        model = None
        if audio.combined_smart_turn:
            from assistant.audio.smart_turn import SmartTurn
            from assistant.core.threads import budget

            model = SmartTurn(audio.smart_turn_model, threads=budget().smart_turn).load().probability
        combined = CombinedEndOfTurn(model, ask_ms=audio.smart_turn_silence_ms, short_ms=audio.combined_short_ms,
                                     mid_ms=audio.combined_mid_ms, long_ms=audio.combined_long_ms,
                                     sure=audio.combined_sure, likely=audio.smart_turn_threshold,
                                     habit_margin_ms=audio.combined_habit_margin_ms,
                                     habit_quantile=audio.combined_habit_quantile)
        min_silence_ms = audio.combined_long_ms + 100  # the decision ends it first; this is the backstop
    elif audio.end_of_turn == "smart-turn":
        from assistant.audio.smart_turn import SmartTurn
        from assistant.core.threads import budget

        detector = SmartTurn(audio.smart_turn_model, threshold=audio.smart_turn_threshold,
                             threads=budget().smart_turn).load().complete
        min_silence_ms = audio.max_silence_ms
    return Endpointer(vad or make_vad(audio.vad), threshold=audio.vad_threshold, min_silence_ms=min_silence_ms,
                      min_speech_ms=audio.min_speech_ms, max_utterance_s=audio.max_utterance_s,
                      pre_roll_ms=audio.pre_roll_ms, turn_detector=detector,
                      detector_silence_ms=audio.smart_turn_silence_ms, end_of_turn=combined, **extra)
