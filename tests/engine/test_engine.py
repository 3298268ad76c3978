"""The turn engine alone: sessions, the reply sink's calls, and the hooks other features plug into
(local commands, the text the voice says, the LLM stream guard)."""

from __future__ import annotations

import threading

from assistant.config import load_config
from assistant.core.turnlog import TurnLog
from assistant.core.types import Utterance
from assistant.engine import Command, ReplySink, Stages, TurnEngine, TurnPolicy
from assistant.tts.voices import VoiceRouter
from tests.support.fakes import FakeLLM, FakeSTT, FakeTTS, tone


class RecordingSink(ReplySink):
    def __init__(self) -> None:
        self.calls: list[tuple[str, object]] = []

    def __getattribute__(self, name):
        hooks = ("status", "heard", "reply_start", "reply_text", "audio", "reply_end", "notice", "error", "complete")
        if name in hooks:
            calls = object.__getattribute__(self, "calls")
            return lambda *a, **k: calls.append((name, a[0] if a else None))
        return object.__getattribute__(self, name)

    def names(self) -> list[str]:
        return [n for n, _ in self.calls]


def make(tmp_path, llm=None, stt=None, overrides=()):
    cfg = load_config(None, [f"log.path={tmp_path / 'turns.jsonl'}", *overrides])
    tts = FakeTTS()
    stages = Stages(cfg, stt or FakeSTT(), llm or FakeLLM(reply="First one is here. And a second one."),
                    VoiceRouter(cfg.tts, factory=lambda o: tts))
    return TurnEngine(stages, TurnLog(cfg.log.path)), tts


def said():
    return Utterance(tone(), source="test", speech_ratio=0.9)


def test_sink_sees_the_turn_in_order_sentence_by_sentence(tmp_path):
    engine, tts = make(tmp_path, overrides=["language.check_reply=false"])
    sink = RecordingSink()
    turn = engine.run(engine.new_session(), said(), sink)
    assert turn.status == "ok"
    names = sink.names()
    assert names[:3] == ["status", "heard", "reply_start"] and names[-2:] == ["reply_end", "complete"]
    assert [a for n, a in sink.calls if n == "reply_text"] == ["First one is here. ", "And a second one. "]
    assert names.count("audio") == 2 and [t for t, _ in tts.texts] == ["First one is here.", "And a second one."]


def test_sessions_do_not_share_history_or_language(tmp_path):
    stt = FakeSTT(text="Speak German")
    engine, _ = make(tmp_path, stt=stt, overrides=["language.check_reply=false"])
    a, b = engine.new_session(), engine.new_session()
    assert engine.run(a, said(), ReplySink()).status == "command"
    stt.text = "How are you?"
    assert engine.run(a, said(), ReplySink()).reply_language == "de"
    turn_b = engine.run(b, said(), ReplySink())
    assert turn_b.reply_language == "en" and turn_b.id == 1
    assert len(a.history.turns) == 1 and len(b.history.turns) == 1 and a.id != b.id


def test_a_command_parser_plugs_in_before_the_llm(tmp_path):
    llm = FakeLLM()
    engine, tts = make(tmp_path, llm=llm, overrides=["language.check_reply=false"])
    session = engine.new_session()
    engine.run(session, said(), ReplySink())

    def forget(text, session):
        if text == "hello there":
            session.history.clear()
            return Command("clear", "I forgot everything.")
        return None

    engine.commands.add(forget, first=True)
    turn = engine.run(session, said(), ReplySink())
    assert turn.status == "command" and turn.reply_text == "I forgot everything."
    assert len(llm.seen) == 1 and session.history.turns == [] and tts.texts[-1][0] == "I forgot everything."


def test_speakable_text_goes_to_the_voice_and_the_written_text_to_captions(tmp_path):
    engine, tts = make(tmp_path, llm=FakeLLM(reply="It costs 5 €."), overrides=["language.check_reply=false"])
    engine.stages.speakable = lambda text, lang: text.replace("5 €", "five euros")
    sink = RecordingSink()
    turn = engine.run(engine.new_session(), said(), sink)
    assert tts.texts == [("It costs five euros.", "en")]
    assert [a for n, a in sink.calls if n == "reply_text"] == ["It costs 5 €. "] and turn.reply_text == "It costs 5 €."


def test_stream_guard_wraps_and_closes_the_token_stream(tmp_path):
    closed = threading.Event()

    def guard(tokens, end):
        try:
            for i, token in enumerate(tokens):
                if i == 3:
                    return  # cut a runaway reply
                yield token
        finally:
            closed.set()

    engine, _ = make(tmp_path, llm=FakeLLM(reply="One two three four five six."),
                     overrides=["language.check_reply=false"])
    engine.stages.stream_guard = guard
    turn = engine.run(engine.new_session(), said(), ReplySink(), TurnPolicy(stream=False))
    assert turn.reply_text == "One two three" and closed.is_set()


def test_failure_is_recorded_not_raised_unless_asked(tmp_path):
    engine, _ = make(tmp_path, llm=FakeLLM(fail=RuntimeError("boom")))
    sink = RecordingSink()
    turn = engine.run(engine.new_session(), said(), sink)
    assert turn.status == "failed" and "boom" in turn.error and ("error", turn.error) in sink.calls
    assert (tmp_path / "turns.jsonl").read_text().count('"failed"') == 1
