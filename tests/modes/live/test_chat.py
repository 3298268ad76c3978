"""The live loop's logic with fake stages and a fake speaker (no devices): streaming, barge-in,
history trimming, the phantom-turn guard, half duplex, cues and spoken errors."""

from __future__ import annotations

import io
import queue
import threading
import time

import numpy as np

from assistant.audio.endpointing import SpeechStarted
from assistant.config import load_config
from assistant.core.types import AudioChunk, Utterance
from assistant.modes.file import Assistant
from assistant.modes.live.captions import Captions
from assistant.modes.live.loop import ChatLoop, _Spoken
from assistant.tts.voices import VoiceRouter
from tests.support.fakes import FakeLLM, FakeSTT, FakeTTS, refused_llm


class EventSource:
    """Microphone stand-in: the test pushes endpointer events; read() hands them over."""

    def __init__(self) -> None:
        self.q: queue.Queue = queue.Queue()

    def read(self, timeout=None):
        try:
            return self.q.get(timeout=timeout)
        except queue.Empty:
            return None

    def drain(self) -> int:
        return 0


class PassThroughEndpointer:
    def feed(self, block, captured_until=None):
        return [block]

    def reset(self):
        pass


class RealtimeSink:
    """Speaker stand-in that 'plays' in real time: played_seconds grows with the clock."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.chunks: list[tuple[float, AudioChunk]] = []
        self.queued = 0.0
        self.played_before = 0.0
        self.started: float | None = None
        self.stops: list[float] = []

    def play(self, chunk):
        with self.lock:
            now = time.monotonic()
            if self.started is None or self._played(now) >= self.queued:
                self.played_before = self._played(now)
                self.queued = self.played_before
                self.started = now
            self.chunks.append((now, chunk))
            self.queued += chunk.duration

    def _played(self, now):
        if self.started is None:
            return 0.0
        return min(self.queued, self.played_before + (now - self.started))

    def stop(self):
        with self.lock:
            now = time.monotonic()
            self.stops.append(now)
            played = self._played(now)
            dropped = self.queued - played
            self.queued = played
            self.played_before, self.started = played, now
            return dropped

    def played_seconds(self):
        with self.lock:
            return self._played(time.monotonic())

    @property
    def is_playing(self):
        with self.lock:
            return self._played(time.monotonic()) < self.queued - 1e-3

    def wait_done(self, timeout=None):
        end = time.monotonic() + (timeout or 0)
        while self.is_playing and time.monotonic() < end:
            time.sleep(0.005)
        return not self.is_playing


class SlowLLM(FakeLLM):
    def __init__(self, reply, delay=0.02):
        super().__init__(reply=reply)
        self.delay = delay
        self.produced = 0
        self.closed = False

    def stream(self, messages):
        self.seen.append(list(messages))
        try:
            for word in self.reply.split(" "):
                time.sleep(self.delay)
                self.produced += 1
                yield word + " "
            self.finished_at = time.monotonic()
        finally:
            self.closed = True


class TimedTTS(FakeTTS):
    """One second of audio per sentence (as a real voice would), instantly."""

    def synthesize(self, text, language):
        self.texts.append((text, language))
        yield AudioChunk((0.2 * np.ones(self.rate)).astype(np.float32), self.rate)


def utterance(ended_at=None, ratio=0.9):
    audio = AudioChunk((0.2 * np.sin(np.arange(16000) / 5)).astype(np.float32), 16000)
    return Utterance(audio, source="microphone", speech_ratio=ratio, ended_at=ended_at or time.monotonic())


def make_loop(tmp_path, llm=None, tts=None, stt=None, overrides=()):
    cfg = load_config(None, [f"log.path={tmp_path / 'turns.jsonl'}", "language.check_reply=false", *overrides])
    tts = tts or TimedTTS()
    bot = Assistant(cfg, stt or FakeSTT(), llm or FakeLLM(), VoiceRouter(cfg.tts, factory=lambda o: tts))
    source, sink = EventSource(), RealtimeSink()
    loop = ChatLoop(bot, source, sink, PassThroughEndpointer(), Captions(io.StringIO(), force_plain=True),
                    cfg.audio)
    thread = threading.Thread(target=loop.run, kwargs={"greet": False}, daemon=True)
    thread.start()
    return loop, source, sink, tts, thread


def wait_for(cond, timeout=10.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.01)
    return False


def finish(loop, thread):
    loop.stop()
    thread.join(timeout=2)
    assert not thread.is_alive()


REPLY = "The first sentence is here. The second one follows now. A third sentence comes. And the last one ends it."


def test_first_audio_comes_before_the_llm_finishes(tmp_path):
    llm = SlowLLM(REPLY, delay=0.03)
    loop, source, sink, tts, thread = make_loop(tmp_path, llm=llm, overrides=["audio.cues=false"])
    source.q.put(utterance())
    assert wait_for(lambda: loop.turns)
    finish(loop, thread)
    turn = loop.turns[0]
    assert [t for t, _ in tts.texts] == ["The first sentence is here.", "The second one follows now.",
                                          "A third sentence comes.", "And the last one ends it."]
    # the first sentence was playing while later tokens were still being generated
    assert sink.chunks[0][0] < llm.finished_at  # the first sentence sounded mid-generation
    assert turn.timings_ms["llm_first_token"] < turn.timings_ms["llm"]
    assert turn.reply_text == REPLY and not turn.interrupted
    assert loop.bot.history.turns == [("hello there", REPLY)]


def test_barge_in_stops_playback_drops_work_and_trims_history(tmp_path):
    llm = SlowLLM(REPLY + " " + REPLY, delay=0.05)
    loop, source, sink, tts, thread = make_loop(tmp_path, llm=llm, overrides=["audio.cues=false"])
    source.q.put(utterance())
    assert wait_for(lambda: sink.played_seconds() > 1.3)  # into the second sentence
    onset = time.monotonic()
    source.q.put(SpeechStarted(offset=10.0, time=onset, detected_offset=10.0))
    assert wait_for(lambda: loop.turns)
    finish(loop, thread)
    turn = loop.turns[0]
    assert turn.interrupted and sink.stops and sink.stops[0] - onset < 0.15
    assert turn.timings_ms["barge_in"] < 150
    assert not sink.is_playing
    assert llm.closed and llm.produced < len((REPLY + " " + REPLY).split())  # generation stopped early
    assert len(tts.texts) < 8  # pending sentences were never synthesized
    heard = loop.bot.history.turns[-1][1]
    assert heard.startswith("The first sentence is here.") and "last one" not in heard
    import json

    rec = json.loads((tmp_path / "turns.jsonl").read_text().splitlines()[0])
    assert rec["interrupted"] is True and "barge_in" in rec["timings_ms"]


def test_low_speech_ratio_is_not_answered(tmp_path):
    stt = FakeSTT()
    loop, source, sink, tts, thread = make_loop(tmp_path, stt=stt)
    source.q.put(utterance(ratio=0.05))
    assert wait_for(lambda: loop.turns)
    finish(loop, thread)
    assert loop.turns[0].status == "no_speech" and stt.calls == [] and tts.texts == []


def test_phantom_transcript_is_not_answered(tmp_path):
    llm = FakeLLM()
    loop, source, sink, tts, thread = make_loop(tmp_path, llm=llm, stt=FakeSTT(text="Thank you.", no_speech=0.4))
    source.q.put(utterance())
    assert wait_for(lambda: loop.turns)
    finish(loop, thread)
    assert loop.turns[0].status == "no_speech" and llm.seen == [] and tts.texts == []


def test_cues_mark_thinking_and_listening(tmp_path):
    loop, source, sink, tts, thread = make_loop(tmp_path, llm=FakeLLM(reply="Short answer here."))
    assert wait_for(lambda: len(sink.chunks) == 1)  # listening cue at start
    source.q.put(utterance())
    assert wait_for(lambda: loop.turns)
    assert wait_for(lambda: len(sink.chunks) >= 4)
    finish(loop, thread)
    durations = [round(c.duration, 2) for _, c in sink.chunks]
    # listening cue, thinking cue, the reply (1 s), listening cue again
    assert durations[0] < 0.5 and durations[1] < 0.5 and durations[2] == 1.0 and durations[3] < 0.5


def test_llm_error_is_spoken_and_the_loop_goes_on(tmp_path):
    llm = refused_llm("http://127.0.0.1:9/v1")
    loop, source, sink, tts, thread = make_loop(tmp_path, llm=llm, overrides=["audio.cues=false"])
    source.q.put(utterance())
    assert wait_for(lambda: loop.turns)
    assert tts.texts and "can't reach the language model" in tts.texts[0][0]
    llm.fail = None
    source.q.put(utterance())
    assert wait_for(lambda: len(loop.turns) == 2)
    finish(loop, thread)
    assert [t.status for t in loop.turns] == ["failed", "ok"]
    assert "127.0.0.1:9" in loop.turns[0].error


def test_half_duplex_ignores_speech_while_speaking(tmp_path):
    llm = FakeLLM(reply=REPLY)
    loop, source, sink, tts, thread = make_loop(tmp_path, llm=llm, overrides=["audio.cues=false",
                                                                             "audio.half_duplex=true"])
    source.q.put(utterance())
    assert wait_for(lambda: sink.played_seconds() > 0.5)
    source.q.put(SpeechStarted(offset=1.0, time=time.monotonic(), detected_offset=1.0))
    assert wait_for(lambda: loop.turns)
    finish(loop, thread)
    assert not loop.turns[0].interrupted and not sink.stops


def test_stop_is_quick_even_mid_turn(tmp_path):
    llm = SlowLLM(REPLY * 3, delay=0.05)
    loop, source, sink, tts, thread = make_loop(tmp_path, llm=llm)
    source.q.put(utterance())
    assert wait_for(lambda: sink.played_seconds() > 0.3)
    t0 = time.monotonic()
    loop.stop()
    thread.join(timeout=2)
    assert time.monotonic() - t0 < 1.0 and not sink.is_playing


def test_heard_text_by_played_seconds():
    s = _Spoken(start_played=0.0, sentences=[("One two three four.", 2.0), ("Five six seven eight.", 2.0)])
    assert s.heard_text(4.0) == "One two three four. Five six seven eight."
    assert s.heard_text(2.0) == "One two three four."
    assert s.heard_text(3.0) == "One two three four. Five six…"
    assert s.heard_text(0.1) == ""


class FailingMidwayLLM(FakeLLM):
    def stream(self, messages):
        self.seen.append(list(messages))
        yield from ("This part gets said. ", "And then ")
        from assistant.core.errors import LLMConnectionError

        raise LLMConnectionError("the LLM server at http://127.0.0.1:9/v1 closed the stream")


def test_llm_failure_mid_reply_keeps_what_was_said_and_reports(tmp_path):
    loop, source, sink, tts, thread = make_loop(tmp_path, llm=FailingMidwayLLM(), overrides=["audio.cues=false"])
    source.q.put(utterance())
    assert wait_for(lambda: loop.turns)
    assert wait_for(lambda: len(tts.texts) >= 2)
    finish(loop, thread)
    assert loop.turns[0].status == "failed" and "closed the stream" in loop.turns[0].error
    assert tts.texts[0][0] == "This part gets said." and "can't reach the language model" in tts.texts[1][0]
    # what was said is in the history as heard (and in the turn's record); the rest is not
    assert loop.turns[0].reply_text == "This part gets said."
    assert [m.content for m in loop.bot.history.messages("next", "en", len)[-3:-1]] == [
        f"{loop.turns[0].text}\n\nAlways answer in English.", "This part gets said."]


def test_a_language_without_voice_is_captioned_and_said_in_the_default_language(tmp_path):
    class EnglishOnly(TimedTTS):
        def supports(self, language):
            return language == "en"

    stt = FakeSTT(text="Bawo ni o se wa?", probs={"yo": 0.95, "en": 0.05})
    loop, source, sink, tts, thread = make_loop(
        tmp_path, stt=stt, tts=EnglishOnly(), llm=FakeLLM(reply="Mo wa daadaa, e se."),
        overrides=["audio.cues=false", "tts.voices={}", "tts.espeak_fallback=false"])
    source.q.put(utterance())
    assert wait_for(lambda: loop.turns)
    finish(loop, thread)
    turn = loop.turns[0]
    assert turn.status == "ok" and turn.reply_text and "no voice" in turn.notice
    assert tts.texts == [("I have no voice for Yoruba. The answer is on the screen.", "en")]


def test_starter_models_are_announced_once_before_ready(tmp_path):
    cfg = load_config(None, [f"log.path={tmp_path / 'turns.jsonl'}", "language.check_reply=false",
                             "audio.cues=false"])
    tts = TimedTTS()
    bot = Assistant(cfg, FakeSTT(), FakeLLM(), VoiceRouter(cfg.tts, factory=lambda o: tts))
    bot.model_notes = ["Using the starter models (...)"]
    loop = ChatLoop(bot, EventSource(), RealtimeSink(), PassThroughEndpointer(),
                    Captions(io.StringIO(), force_plain=True), cfg.audio)
    thread = threading.Thread(target=loop.run, kwargs={"greet": True}, daemon=True)
    thread.start()
    assert wait_for(lambda: len(tts.texts) >= 2)
    finish(loop, thread)
    spoken = [t for t, _ in tts.texts]
    assert "starter models" in spoken[0] and "models pull" in spoken[0] and spoken[1] == "I'm listening."


def test_early_stt_is_used_when_the_user_does_not_go_on_and_wasted_when_they_do(tmp_path):
    from assistant.audio.endpointing import Pause

    stt = FakeSTT()
    loop, source, sink, tts, thread = make_loop(tmp_path, stt=stt, overrides=["audio.cues=false",
                                                                             "audio.early_stt=true"])
    first = utterance()
    source.q.put(Pause(first, time.monotonic()))  # the first pause: heard early
    assert wait_for(lambda: len(stt.calls) == 2)  # detect + transcribe
    source.q.put(first)  # the user did not go on: the same utterance
    assert wait_for(lambda: loop.turns)
    assert len(stt.calls) == 2  # not transcribed again
    assert "stt_early" in loop.turns[0].timings_ms and loop.turns[0].transcript.text == "hello there"
    assert loop.session.language.previous == "en"  # the language state moved on as after any turn
    source.q.put(Pause(utterance(ratio=0.8), time.monotonic()))  # a pause, then the user went on
    assert wait_for(lambda: len(stt.calls) == 4 and not loop.early._job.thread.is_alive())
    source.q.put(utterance(ratio=0.7))  # a longer utterance than the one heard early
    assert wait_for(lambda: len(loop.turns) == 2)
    finish(loop, thread)
    second = loop.turns[1].timings_ms
    assert len(stt.calls) == 6 and "stt_early" not in second and "stt_wasted" in second


def test_the_early_transcript_reaches_the_combined_end_of_turn_decision(tmp_path):
    from assistant.audio.endpointing import Pause
    from assistant.audio.turn_end import CombinedEndOfTurn

    stt = FakeSTT(text="I would like to go to the")  # stops on an article: not finished
    loop, source, sink, tts, thread = make_loop(tmp_path, stt=stt, overrides=["audio.cues=false",
                                                                             "audio.early_stt=true"])
    decision = loop.endpointer.end_of_turn = CombinedEndOfTurn(lambda audio: 0.99, long_ms=1200)
    decision.pause_started()
    decision.last_probability = 0.99  # Smart Turn was asked at this pause and is sure
    assert decision.required_ms() == decision.short_ms
    source.q.put(Pause(utterance(), time.monotonic()))
    assert wait_for(lambda: decision.required_ms() == 1200)  # held, though Smart Turn would be sure
    stale = decision.pause_id
    decision.pause_started()  # the user paused again: a late transcript of the old pause is ignored
    decision.hint("Where is it?", "en", pause_id=stale)
    assert decision._hint is None
    finish(loop, thread)
