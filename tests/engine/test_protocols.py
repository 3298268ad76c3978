"""The protocols the engine relies on, said rather than guessed: how an LLM stream ended, a
speakable hook that converts whole replies, a speaker that knows when it was heard, an endpointer
whose silence a voice command changes, and the one set of rules for a conversation's language."""

from __future__ import annotations

import io
import threading

from assistant.config import load_config
from assistant.core.types import Turn
from assistant.engine import Stages
from assistant.engine.session import Session
from assistant.engine.stages import ReplySpeakable, SpeakableHook
from assistant.language.policy import LanguagePolicy, LanguageState
from assistant.llm.base import ReplyEnd
from assistant.modes.live.captions import Captions
from assistant.modes.live.loop import LiveSink, TimedSink
from assistant.tts.voices import VoiceRouter
from tests.support.fakes import FakeLLM, FakeSTT, FakeTTS, tone


class EndsLLM(FakeLLM):
    """Each stream ends as the next of ``endings`` says (the backend's attribute, as real ones)."""

    def __init__(self, endings):
        super().__init__(reply="One two three.")
        self.endings = list(endings)

    def stream(self, messages):
        self.finish_reason = None
        yield from super().stream(messages)
        self.finish_reason = self.endings.pop(0)


def stages(tmp_path, llm=None) -> Stages:
    cfg = load_config(None, [f"log.path={tmp_path / 'turns.jsonl'}"])
    return Stages(cfg, FakeSTT(), llm or FakeLLM(), VoiceRouter(cfg.tts, factory=lambda o: FakeTTS()))


def test_each_stream_keeps_its_own_ending_whatever_runs_after_it(tmp_path):
    s = stages(tmp_path, EndsLLM(["length", "stop"]))
    s.stream_guard = None
    first, second = ReplyEnd(), ReplyEnd()
    assert "".join(s.think([], end=first)).strip() == "One two three."
    assert first.cut  # taken as its stream ended ...
    "".join(s.think([], end=second))
    assert first.cut and not second.cut  # ... so a later stream does not change it
    assert s.llm.finish_reason == "stop"


def test_the_reply_guard_drops_a_sentence_the_token_limit_cut(tmp_path):
    llm = EndsLLM(["length"])
    llm.reply = "A whole sentence here. And one the limit cut"
    assert "".join(stages(tmp_path, llm).think([])).strip() == "A whole sentence here."


def test_a_hook_that_converts_whole_replies_is_declared_not_guessed(tmp_path):
    s = stages(tmp_path)
    assert isinstance(s.speakable, SpeakableHook) and isinstance(s.speakable, ReplySpeakable)
    convert = s.reply_converter("en")
    assert convert is not None and "five euros" in convert("It costs 5 €.")
    s.speakable = lambda text, language: text.upper()  # a plain hook: each sentence alone
    assert not isinstance(s.speakable, ReplySpeakable) and s.reply_converter("en") is None
    voice, chunks = s.speak("hello", "en")
    assert voice is not None and list(chunks)


class Speaker:
    def __init__(self):
        self.plays: list[dict] = []

    def play(self, chunk):
        self.plays.append({})

    def stop(self):
        return 0.0

    def wait_done(self, timeout=None):
        return True

    def played_seconds(self):
        return 0.0

    @property
    def is_playing(self):
        return False


class TimedSpeaker(Speaker):
    def play(self, chunk, watch=False):
        self.plays.append({"watch": watch})
        return 123 if watch else None

    def heard_at(self, place):
        return 42.0 if place == 123 else None


def live_sink(speaker) -> LiveSink:
    cfg = load_config(None, ["audio.cues=false"])
    return LiveSink(speaker, Captions(io.StringIO(), force_plain=True), cfg.audio)


def test_a_speaker_that_knows_when_it_was_heard_reports_the_first_sound(tmp_path):
    timed, plain = TimedSpeaker(), Speaker()
    assert isinstance(timed, TimedSink) and not isinstance(plain, TimedSink)
    sink = live_sink(timed)
    sink.audio(tone(0.1))
    sink.audio(tone(0.1))
    assert timed.plays == [{"watch": True}, {"watch": False}] and sink.first_heard_at() == 42.0
    sink = live_sink(plain)
    sink.audio(tone(0.1))
    assert plain.plays == [{}] and sink.first_heard_at() is None


class Endpointer:
    def __init__(self):
        self.silences: list[float] = []

    def set_min_silence_ms(self, ms):
        self.silences.append(ms)


def test_a_voice_command_changes_the_endpointers_silence_in_one_place():
    session = Session(load_config(None, []).conversation)
    session.commands.patient = True
    patient = session.commands.settings.patient_silence_ms
    ep = Endpointer()
    session.after_turn(Turn(id=1, started_at="", input="x", status="ok"), ep, 500)
    assert ep.silences == []  # only a command turn changes it
    session.after_turn(Turn(id=2, started_at="", input="x", status="command"), ep, 500)
    session.commands.patient = False
    session.after_turn(Turn(id=3, started_at="", input="x", status="command"), ep, 700)
    assert ep.silences == [max(500, patient), 700]  # from the mode's own silence (a client's may differ)
    session.after_turn(Turn(id=4, started_at="", input="x", status="command"), object(), 500)  # cannot: nothing
    session.after_turn(Turn(id=5, started_at="", input="x", status="command"), None, 500)


def test_one_set_of_rules_decides_a_conversations_language():
    policy = LanguagePolicy(default="es")
    state = LanguageState()
    assert state.current() is None and state.user_language(policy) == "es" and state.speaking(policy) == "es"
    assert state.user_language(policy, "fr") == "fr"
    state.previous = "de"
    assert state.user_language(policy) == "de" and state.speaking(policy) == "de"
    assert state.reply_language("de", policy) == "de"
    assert state.reply_language("de", LanguagePolicy(reply_language="en")) == "en"
    state.requested = "pt"  # "speak Portuguese"
    assert state.current() == "pt" and state.speaking(policy) == "pt"
    assert state.user_language(policy) == "de"  # what the user speaks is not what they asked to hear
    assert state.reply_language("de", LanguagePolicy(reply_language="en")) == "pt"


def test_a_typed_turn_without_a_language_uses_the_conversations_or_the_default(tmp_path):
    from assistant.core.turnlog import TurnLog
    from assistant.engine import ReplySink, TextInput, TurnEngine

    cfg = load_config(None, [f"log.path={tmp_path / 'turns.jsonl'}", "language.default=fr",
                             "language.check_reply=false"])
    engine = TurnEngine(Stages(cfg, FakeSTT(), FakeLLM(), VoiceRouter(cfg.tts, factory=lambda o: FakeTTS())),
                        TurnLog(cfg.log.path))
    session = engine.new_session()
    assert engine.run(session, TextInput("bonjour"), ReplySink()).language == "fr"
    session.language.previous = "de"
    assert engine.run(session, TextInput("hallo"), ReplySink()).language == "de"
    assert engine.run(session, TextInput("hola", "es"), ReplySink()).language == "es"


def realtime(tmp_path, *overrides):
    from assistant.core.turnlog import TurnLog
    from assistant.engine import TurnEngine
    from assistant.modes.server.realtime import RealtimeSession

    cfg = load_config(None, [f"log.path={tmp_path / 'turns.jsonl'}", "language.check_reply=false", *overrides])
    engine = TurnEngine(Stages(cfg, FakeSTT(), FakeLLM(), VoiceRouter(cfg.tts, factory=lambda o: FakeTTS())),
                        TurnLog(cfg.log.path))
    sent: list[dict] = []
    return RealtimeSession(engine, sent.append, None, None), engine


def test_a_realtime_patient_command_starts_from_the_clients_own_silence(tmp_path):
    import asyncio

    from assistant.engine import TextInput

    rt, engine = realtime(tmp_path, "commands.patient_silence_ms=1200")
    rt.silence_ms, rt.endpointer = 900, Endpointer()  # turn_detection.silence_duration_ms: 900
    asyncio.run(rt._turn(TextInput("Take your time.", "en"), "item_1", threading.Event()))
    asyncio.run(rt._turn(TextInput("Normal speed, please.", "en"), "item_2", threading.Event()))
    assert rt.endpointer.silences == [1200, 900]  # back to the client's 900, not the config's


def test_a_realtime_turn_dropped_before_it_ran_uses_the_default_language(tmp_path):
    import asyncio
    import json

    from assistant.engine import TextInput

    rt, engine = realtime(tmp_path, "language.default=fr")
    dropped = threading.Event()
    dropped.set()
    asyncio.run(rt._turn(TextInput("Raconte une histoire."), "item_1", dropped))
    rec = json.loads(engine.turn_log.path.read_text().splitlines()[-1])
    assert rec["status"] == "interrupted" and rec["language"] == "fr"  # was "en" whatever the default
