"""Voice commands through the turn engine (fakes for the models): each command is a logged
``command`` turn, never reaches the LLM, changes the session, and is confirmed by voice in the
user's language; plus the spoken feedback (still thinking, the noise hint) and speakable replies."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest

from assistant.commands.replies import REPLIES
from assistant.core.types import Utterance
from assistant.engine import CollectingSink, ReplySink, TextInput, TurnPolicy
from assistant.text.messages import MESSAGES
from tests.engine.test_engine import make
from tests.support.fakes import FakeLLM, FakeSTT, tone

LIVE = TurnPolicy(stream=True, say_errors=True, feedback=True)
OFF = ["language.check_reply=false"]

# (language, phrase, kind) — one real phrasing per command and language
PHRASES = [
    ("en", "Stop.", "stop"), ("de", "Stopp!", "stop"), ("es", "Para.", "stop"), ("fr", "Arrête.", "stop"),
    ("pt", "Para.", "stop"),
    ("en", "Could you speak a bit slower, please?", "slower"), ("de", "Langsamer bitte.", "slower"),
    ("es", "Más despacio.", "slower"), ("fr", "Plus lentement.", "slower"), ("pt", "Mais devagar.", "slower"),
    ("en", "Faster.", "faster"), ("de", "Schneller.", "faster"), ("es", "Más rápido.", "faster"),
    ("fr", "Plus vite.", "faster"), ("pt", "Mais rápido.", "faster"),
    ("en", "Louder.", "louder"), ("de", "Lauter.", "louder"), ("es", "Más alto.", "louder"),
    ("fr", "Plus fort.", "louder"), ("pt", "Mais alto.", "louder"),
    ("en", "Quieter.", "quieter"), ("de", "Leiser.", "quieter"), ("es", "Más bajo.", "quieter"),
    ("en", "New conversation.", "new_conversation"), ("de", "Neues Gespräch.", "new_conversation"),
    ("es", "Nueva conversación.", "new_conversation"), ("fr", "Nouvelle conversation.", "new_conversation"),
    ("pt", "Nova conversa.", "new_conversation"),
    ("en", "Forget that.", "forget_last"), ("de", "Vergiss das.", "forget_last"),
    ("en", "What can I say?", "help"), ("de", "Hilfe.", "help"), ("es", "Ayuda.", "help"),
    ("fr", "Aide.", "help"), ("pt", "Ajuda.", "help"),
    ("en", "Take your time.", "patient"), ("de", "Lass dir Zeit.", "patient"),
    ("en", "Normal speed.", "normal"), ("fr", "Vitesse normale.", "normal"),
    ("en", "Pause listening.", "pause"), ("es", "Pausa.", "pause"),
]


def records(engine):
    return [json.loads(line) for line in engine.turn_log.path.read_text().splitlines()]


def ask(engine, session, text, language="en", sink=None, policy=LIVE):
    return engine.run(session, TextInput(text, language), sink or ReplySink(), policy)


@pytest.mark.parametrize("language,text,kind", PHRASES)
def test_each_command_is_local_logged_and_confirmed_in_the_users_language(tmp_path, language, text, kind):
    llm = FakeLLM(reply="An answer.")
    engine, tts = make(tmp_path, llm=llm, overrides=OFF)
    session = engine.new_session()
    ask(engine, session, "Hello there.", language)  # one exchange, so there is history
    assert len(llm.seen) == 1
    turn = ask(engine, session, text, language)
    assert turn.status == "command" and turn.command == kind and len(llm.seen) == 1
    confirmation = REPLIES[kind].get(language) or REPLIES[kind]["en"]
    letters = lambda t: "".join(ch for ch in t if ch.isalnum())  # noqa: E731  (speakable may respace)
    assert turn.reply_text == confirmation and letters(tts.texts[-1][0]) == letters(confirmation)
    assert tts.texts[-1][1] == language
    rec = records(engine)[-1]
    assert rec["status"] == "command" and rec["command"] == kind and rec["reply"] == confirmation


def test_effects_are_kept_for_the_session_and_not_shared(tmp_path):
    engine, tts = make(tmp_path, llm=FakeLLM(reply="One two three four five six seven eight."), overrides=OFF)
    a, b = engine.new_session(), engine.new_session()
    ask(engine, a, "Tell me something.")
    normal = CollectingSink()
    ask(engine, a, "Tell me more.", sink=normal)
    ask(engine, a, "Slower, please.")
    ask(engine, a, "Louder.")
    assert a.commands.rate < 1.0 and a.commands.volume > 1.0
    assert b.commands.rate == 1.0 and b.commands.volume == 1.0
    shaped = CollectingSink()
    ask(engine, a, "Tell me more.", sink=shaped)
    # the same reply, slower: longer audio (WSOLA), and louder
    assert sum(c.duration for c in shaped.chunks) > 1.1 * sum(c.duration for c in normal.chunks)
    peak = lambda s: max(float(np.max(np.abs(c.samples))) for c in s.chunks)  # noqa: E731
    assert peak(shaped) > 1.2 * peak(normal)
    ask(engine, a, "Take your time.")
    assert a.commands.end_of_turn_silence_ms(500) == engine.config.commands.patient_silence_ms
    assert b.commands.end_of_turn_silence_ms(500) == 500
    ask(engine, a, "Normal speed.")
    assert a.commands.end_of_turn_silence_ms(500) == 500 and a.commands.rate == 1.0


def test_history_commands_and_repeat(tmp_path):
    llm = FakeLLM(reply="Paris is the capital.")
    engine, tts = make(tmp_path, llm=llm, overrides=OFF)
    s = engine.new_session()
    ask(engine, s, "What is the capital of France?")
    ask(engine, s, "And of Spain?")
    assert len(s.history.turns) == 2
    turn = ask(engine, s, "Say that again.")
    assert turn.command == "repeat" and turn.reply_text == "Paris is the capital."
    assert tts.texts[-1] == ("Paris is the capital.", "en") and len(llm.seen) == 2
    ask(engine, s, "Forget that.")
    assert len(s.history.turns) == 1
    ask(engine, s, "Start a new conversation.")
    assert s.history.turns == []
    assert ask(engine, s, "Repeat.").reply_text == REPLIES["nothing_to_repeat"]["en"]


def test_paused_only_the_wake_phrase_is_acted_on(tmp_path):
    llm = FakeLLM()
    engine, tts = make(tmp_path, llm=llm, overrides=OFF)
    s = engine.new_session()
    turn = ask(engine, s, "Pause listening.")
    assert turn.command == "pause" and "I'm back" in turn.reply_text  # says the wake phrase
    spoken = len(tts.texts)
    ignored = ask(engine, s, "What time is it?")
    assert ignored.status == "ignored" and llm.seen == [] and len(tts.texts) == spoken
    assert ask(engine, s, "Louder.").status == "ignored" and s.commands.volume == 1.0
    back = ask(engine, s, "I'm back.")
    assert back.command == "resume" and not s.commands.paused
    assert ask(engine, s, "What time is it?").status == "ok" and len(llm.seen) == 1
    assert [r["status"] for r in records(engine)] == ["command", "ignored", "ignored", "command", "ok"]


def test_language_commands_still_work_and_confirm_in_the_new_language(tmp_path):
    llm = FakeLLM()
    engine, tts = make(tmp_path, llm=llm, overrides=OFF)
    s = engine.new_session()
    turn = ask(engine, s, "Speak German.")
    assert turn.command == "language" and s.language.requested == "de" and llm.seen == []
    assert tts.texts[-1][1] == "de"
    # a later command is confirmed in the requested language
    assert ask(engine, s, "Stop.").reply_text == REPLIES["stop"]["de"]


def test_an_ordinary_question_goes_to_the_llm(tmp_path):
    llm = FakeLLM()
    engine, _ = make(tmp_path, llm=llm, overrides=OFF)
    turn = ask(engine, engine.new_session(), "How do I stop a leak?")
    assert turn.status == "ok" and turn.command is None and len(llm.seen) == 1


def test_commands_can_be_switched_off_but_language_commands_stay(tmp_path):
    llm = FakeLLM()
    engine, _ = make(tmp_path, llm=llm, overrides=OFF + ["commands.enabled=false"])
    s = engine.new_session()
    assert ask(engine, s, "Stop.").status == "ok" and len(llm.seen) == 1
    assert ask(engine, s, "Speak German.").status == "command"


def test_a_spoken_command_over_stt(tmp_path):
    stt = FakeSTT(text="Langsamer, bitte.", probs={"de": 0.9, "en": 0.1})
    llm = FakeLLM()
    engine, tts = make(tmp_path, llm=llm, stt=stt, overrides=OFF)
    s = engine.new_session()
    turn = engine.run(s, Utterance(tone(), source="test", speech_ratio=0.9), ReplySink(), LIVE)
    assert turn.command == "slower" and tts.texts[-1] == (REPLIES["slower"]["de"], "de") and llm.seen == []


class SlowLLM(FakeLLM):
    delay: float = 0.0

    def stream(self, messages):
        time.sleep(self.delay)
        yield from super().stream(messages)


@pytest.mark.parametrize("delay,said", [(0.6, True), (0.0, False)])
def test_still_thinking_when_the_reply_is_late_and_never_over_it(tmp_path, delay, said):
    llm = SlowLLM(reply="Here it is.")
    llm.delay = delay
    engine, tts = make(tmp_path, llm=llm, overrides=OFF + ["commands.still_thinking_s=0.3"])
    sink = CollectingSink()
    turn = ask(engine, engine.new_session(), "Tell me.", "de", sink=sink)
    texts = [t for t, _ in tts.texts]
    assert (MESSAGES["still_thinking"]["de"] in texts) is said
    if said:  # before the reply, in the user's language, and not counted as first reply audio
        assert texts.index(MESSAGES["still_thinking"]["de"]) < texts.index("Here it is.")
        assert "still_thinking" in turn.timings_ms
    # file mode (no feedback policy) never says it
    ask(engine, engine.new_session(), "Tell me.", "de", policy=TurnPolicy())
    assert [t for t, _ in tts.texts].count(MESSAGES["still_thinking"]["de"]) == int(said)


def test_noise_hint_after_refused_turns_in_a_row(tmp_path):
    engine, tts = make(tmp_path, overrides=OFF + ["commands.noise_hint_after=3"])
    s = engine.new_session()
    s.language.previous = "fr"
    silent = Utterance(tone(amplitude=0.0), source="test")
    for _ in range(2):
        assert engine.run(s, silent, ReplySink(), LIVE).status == "no_speech"
    assert not any(t == MESSAGES["noise_hint"]["fr"] for t, _ in tts.texts)
    engine.run(s, silent, ReplySink(), LIVE)
    assert tts.texts[-1] == (MESSAGES["noise_hint"]["fr"], "fr") and s.refused_in_row == 0


def test_replies_are_made_speakable_while_captions_and_history_keep_the_original(tmp_path):
    reply = "**Sure**: see https://www.example.com/docs 😀 ```\nprint(1)\n``` Done."
    engine, tts = make(tmp_path, llm=FakeLLM(reply=reply), overrides=OFF)
    sink = CollectingSink()
    s = engine.new_session()
    turn = ask(engine, s, "Show me.", sink=sink)
    spoken = " ".join(t for t, _ in tts.texts)
    assert "**" not in spoken and "https" not in spoken and "😀" not in spoken and "print" not in spoken
    assert "example" in spoken
    assert turn.reply_text == reply.strip() and s.history.turns[-1][1] == reply.strip()
    assert records(engine)[-1]["reply"] == reply.strip()


# ------------------------------------------------------------------ unsure: ask, then yes / no

def test_a_near_miss_is_asked_about_and_a_yes_acts_on_it(tmp_path):
    from assistant.commands.replies import QUESTIONS

    llm = FakeLLM(reply="An answer.")
    engine, tts = make(tmp_path, llm=llm, overrides=OFF)
    s = engine.new_session()
    ask(engine, s, "Hello there.")
    assert len(s.history.turns) == 1
    asked = ask(engine, s, "Stand on your conversation.")  # heard not quite as said
    assert asked.status == "command" and asked.command == "ask" and llm.seen[-1:] != ["Start a new conversion."]
    assert asked.reply_text == QUESTIONS["new_conversation"]["en"] and len(s.history.turns) == 1
    done = ask(engine, s, "Yes, please.")
    assert done.command == "new_conversation" and s.history.turns == [] and len(llm.seen) == 1
    assert [(r["status"], r["command"]) for r in records(engine)][-2:] == [("command", "ask"),
                                                                          ("command", "new_conversation")]


@pytest.mark.parametrize("language,near_miss,no", [("de", "Neues Geschäft.", "Nein."),
                                                   ("es", "Nueva comparación.", "No, gracias."),
                                                   ("fr", "Nouvelle comparaison.", "Non."),
                                                   ("pt", "Nova comparsa.", "Não.")])
def test_a_no_cancels_in_the_users_language(tmp_path, language, near_miss, no):
    from assistant.commands.replies import CANCELLED, QUESTIONS

    llm = FakeLLM(reply="Eine Antwort.")
    engine, tts = make(tmp_path, llm=llm, overrides=OFF)
    s = engine.new_session()
    ask(engine, s, "Hallo.", language)
    asked = ask(engine, s, near_miss, language)
    assert asked.command == "ask" and asked.reply_text == QUESTIONS["new_conversation"][language], asked.reply_text
    assert tts.texts[-1][1] == language
    no_turn = ask(engine, s, no, language)
    assert no_turn.command == "cancelled" and no_turn.reply_text == CANCELLED[language]
    assert len(s.history.turns) == 1 and len(llm.seen) == 1
    # answered: nothing is pending any more, a later "yes" is an ordinary turn
    assert ask(engine, s, "Ja.", language).status == "ok" and len(llm.seen) == 2


def test_anything_else_after_the_question_is_an_ordinary_turn(tmp_path):
    llm = FakeLLM(reply="Sure.")
    engine, _ = make(tmp_path, llm=llm, overrides=OFF)
    s = engine.new_session()
    assert ask(engine, s, "Stand on your conversation.").command == "ask"
    turn = ask(engine, s, "What is the capital of Peru?")
    assert turn.status == "ok" and len(llm.seen) == 1 and s.commands.pending is None


def test_the_session_language_is_tried_first(tmp_path):
    """"Para." is stop in Spanish and Portuguese: a Portuguese session's "para" is confirmed in
    Portuguese even when Whisper labelled it Spanish, and the other way round."""
    engine, tts = make(tmp_path, llm=FakeLLM(), overrides=OFF)
    s = engine.new_session()
    s.language.previous = "pt"  # the conversation so far (set by each spoken turn)
    turn = ask(engine, s, "Para.", "es")
    assert turn.command == "stop" and turn.reply_text == REPLIES["stop"]["pt"]
    s2 = engine.new_session()
    s2.language.previous = "es"
    assert ask(engine, s2, "Para.", "pt").reply_text == REPLIES["stop"]["es"]


class StatusSink(ReplySink):
    def __init__(self):
        self.states = []

    def status(self, state):
        self.states.append(state)


def test_no_thinking_cue_while_paused(tmp_path):
    engine, _ = make(tmp_path, llm=FakeLLM(), overrides=OFF)
    s = engine.new_session()
    sink = StatusSink()
    ask(engine, s, "Hello.", sink=sink)
    assert "thinking" in sink.states
    ask(engine, s, "Pause listening.")
    sink = StatusSink()
    assert ask(engine, s, "What time is it?", sink=sink).status == "ignored" and sink.states == []
    engine.stages.stt.text = "What time is it?"  # spoken: heard, then ignored, and no cue before it
    assert engine.run(s, Utterance(tone(), source="test", speech_ratio=0.9), sink, LIVE).status == "ignored"
    assert sink.states == []


def test_a_realtime_turn_dropped_by_stop_before_it_started_is_logged(tmp_path):
    import asyncio
    import threading

    from assistant.modes.server.realtime import RealtimeSession

    llm = FakeLLM(reply="Once upon a time.")
    engine, _ = make(tmp_path, llm=llm, overrides=OFF)
    sent = []
    rt = RealtimeSession(engine, sent.append, None, None)
    dropped = threading.Event()
    dropped.set()  # a typed "stop" came while this turn was still waiting for the one before
    asyncio.run(rt._turn(TextInput("Tell me a long story."), "item_1", dropped))
    assert llm.seen == []
    rec = records(engine)[-1]
    assert (rec["status"] == "interrupted" and rec["interrupted"] is True
            and rec["transcript"] == "Tell me a long story.")
    assert rec["session"] == rt.session.id and "stop" in rec["notice"]
    done = [e for e in sent if e["type"] == "response.done"][-1]["response"]
    assert done["status"] == "cancelled" and str(rec["id"]).endswith(f"-{done['metadata']['turn']}")


class ByLanguageSTT(FakeSTT):
    """Detects ``probs``; transcribes each language as ``texts`` says (what Whisper does with a
    short German command it took for Chinese: other words in the wrong language)."""

    def __init__(self, texts, probs):
        super().__init__(probs=probs)
        self.texts = texts

    def transcribe(self, audio, *, language=None, initial_prompt=None):
        self.text = self.texts[language]
        return super().transcribe(audio, language=language, initial_prompt=initial_prompt)


def german_session(tmp_path, texts, probs, llm=None):
    stt = ByLanguageSTT(texts, probs)
    engine, _ = make(tmp_path, llm=llm or FakeLLM(reply="Eine Antwort."), stt=stt, overrides=OFF)
    session = engine.new_session()
    session.language.previous = "de"
    return engine, session, stt


def test_a_short_command_taken_for_another_language_is_heard_again_in_the_sessions(tmp_path):
    llm = FakeLLM(reply="Eine Antwort.")
    engine, session, stt = german_session(tmp_path, {"zh": "老的,B字。", "de": "Lauter, bitte."},
                                          {"zh": 0.97, "de": 0.02, "en": 0.01}, llm)
    turn = engine.run(session, Utterance(tone(1.2), source="test", speech_ratio=0.9), ReplySink(), LIVE)
    assert turn.status == "command" and turn.command == "louder" and not llm.seen
    assert turn.decision.language == "de" and turn.decision.reason == "session-command"
    assert turn.transcript.text == "Lauter, bitte." and "stt_session_language" in turn.timings_ms
    assert [c for c in stt.calls if c[0] == "transcribe"] == [("transcribe", "zh"), ("transcribe", "de")]
    assert session.language.previous == "de"


def test_heard_again_only_a_command_replaces_what_was_heard(tmp_path):
    llm = FakeLLM(reply="Eine Antwort.")  # the second hearing is a question: the first one stands
    engine, session, stt = german_session(tmp_path, {"en": "What time is it?", "de": "Wie spät ist es?"},
                                          {"en": 0.97, "de": 0.02, "fr": 0.01}, llm)
    turn = engine.run(session, Utterance(tone(1.2), source="test", speech_ratio=0.9), ReplySink(), LIVE)
    assert turn.status == "ok" and turn.transcript.text == "What time is it?" and turn.decision.language == "en"
    assert len(llm.seen) == 1


@pytest.mark.parametrize("seconds,probs,heard", [
    (4.0, {"zh": 0.97, "de": 0.02, "en": 0.01}, "老的,B字。"),  # too long to be a command
    (1.2, {"de": 0.9, "en": 0.05, "fr": 0.05}, "Lauter Dinge."),  # in the session's language already
    (1.2, {"en": 0.97, "de": 0.02, "fr": 0.01}, "Stop."),  # a command as heard
])
def test_no_second_hearing_when_it_cannot_help(tmp_path, seconds, probs, heard):
    texts = {lang: heard for lang in probs} | {"de": heard if probs["de"] > 0.5 else "Lauter, bitte."}
    engine, session, stt = german_session(tmp_path, texts, probs)
    turn = engine.run(session, Utterance(tone(seconds), source="test", speech_ratio=0.9), ReplySink(), LIVE)
    assert len([c for c in stt.calls if c[0] == "transcribe"]) == 1
    assert "stt_session_language" not in turn.timings_ms and turn.decision.reason != "session-command"


def test_the_second_hearing_can_be_turned_off(tmp_path):
    stt = ByLanguageSTT({"zh": "老的,B字。", "de": "Lauter, bitte."}, {"zh": 0.97, "de": 0.02, "en": 0.01})
    engine, _ = make(tmp_path, stt=stt, overrides=OFF + ["commands.session_language_s=0"])
    session = engine.new_session()
    session.language.previous = "de"
    turn = engine.run(session, Utterance(tone(1.2), source="test", speech_ratio=0.9), ReplySink(), LIVE)
    assert turn.command is None and len([c for c in stt.calls if c[0] == "transcribe"]) == 1
