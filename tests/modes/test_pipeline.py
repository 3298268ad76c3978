"""Turn logic with fake stages: the orchestrator's policy, the log, history, language."""

import json

import numpy as np
import pytest

from assistant.config import load_config
from assistant.core.errors import LLMConnectionError, StageError
from assistant.core.types import AudioChunk
from assistant.modes.file import Assistant
from assistant.tts.voices import VoiceRouter
from tests.support.fakes import FakeLLM, FakeSTT, FakeTTS, LoudnessVAD, refused_llm, tone


def make(tmp_path, stt=None, llm=None, tts=None, overrides=()):
    cfg = load_config(None, [f"log.path={tmp_path / 'turns.jsonl'}", *overrides])
    tts = tts or FakeTTS()
    bot = Assistant(cfg, stt or FakeSTT(), llm or FakeLLM(), VoiceRouter(cfg.tts, factory=lambda o: tts),
                    vad=LoudnessVAD())
    return bot, tts


def log_lines(tmp_path):
    return [json.loads(line) for line in (tmp_path / "turns.jsonl").read_text().splitlines()]


def test_turn_runs_all_stages_and_is_logged(tmp_path):
    bot, tts = make(tmp_path)
    out = tmp_path / "reply.wav"
    turn = bot.respond(tone(), output=out)
    assert turn.status == "ok" and turn.text == "hello there"
    assert turn.language == "en" and turn.language_probability == 0.9
    assert turn.reply_text == "Hi! How can I help?"
    assert turn.reply_audio.duration > 0 and out.exists()
    assert tts.texts == [("Hi! How can I help?", "en")]
    assert {"stt", "llm", "tts", "total"} <= set(turn.timings_ms)
    rec = log_lines(tmp_path)[0]
    assert rec["transcript"] == "hello there" and rec["reply"] == turn.reply_text
    assert rec["language"] == "en" and rec["output"] == str(out) and rec["status"] == "ok"
    assert rec["language_decision"]["reason"] == "detected"


def test_silence_never_reaches_stt_or_llm(tmp_path):
    stt, llm = FakeSTT(), FakeLLM()
    bot, tts = make(tmp_path, stt, llm)
    turn = bot.respond(AudioChunk(np.zeros(32000, np.float32), 16000))
    assert turn.status == "no_speech" and "didn't hear" in turn.notice
    assert stt.calls == [] and llm.seen == [] and tts.texts == []
    assert log_lines(tmp_path)[0]["status"] == "no_speech"


def test_noise_without_speech_never_reaches_stt(tmp_path):
    from assistant.audio.vad import make_vad

    stt = FakeSTT()
    bot, _ = make(tmp_path, stt)
    bot.stages.vad = make_vad("silero")  # the real detector: hiss is loud enough, but it is not speech
    hiss = (np.random.default_rng(0).standard_normal(48000) * 0.05).astype(np.float32)
    turn = bot.respond(AudioChunk(hiss, 16000))
    assert turn.status == "no_speech" and "voice detector" in turn.notice and stt.calls == []


def test_zero_length_recording_is_no_speech(tmp_path):
    bot, _ = make(tmp_path)
    assert bot.respond(AudioChunk(np.zeros(0, np.float32), 16000)).status == "no_speech"


def test_phantom_transcript_gets_no_reply(tmp_path):
    llm = FakeLLM()
    bot, _ = make(tmp_path, FakeSTT(text="Subtitles by the Amara.org community"), llm)
    turn = bot.respond(tone())
    assert turn.status == "no_speech" and llm.seen == []


def test_llm_server_down_is_logged_as_failed(tmp_path):
    bot, _ = make(tmp_path, llm=refused_llm())
    with pytest.raises(LLMConnectionError, match="127.0.0.1:9"):
        bot.respond(tone())
    rec = log_lines(tmp_path)[0]
    assert rec["status"] == "failed" and "127.0.0.1:9" in rec["error"] and rec["transcript"] == "hello there"


def test_backend_bug_becomes_stage_error(tmp_path):
    bot, _ = make(tmp_path, llm=FakeLLM(fail=RuntimeError("CUDA out of memory")))
    with pytest.raises(StageError, match="CUDA out of memory"):
        bot.respond(tone())
    assert log_lines(tmp_path)[0]["status"] == "failed"


def test_earlier_turns_survive_a_later_failure(tmp_path):
    llm = FakeLLM()
    bot, _ = make(tmp_path, llm=llm)
    bot.respond(tone())
    llm.fail = RuntimeError("boom")
    with pytest.raises(StageError):
        bot.respond(tone())
    assert [r["status"] for r in log_lines(tmp_path)] == ["ok", "failed"]


def test_reply_language_follows_user_and_history_is_kept(tmp_path):
    llm = FakeLLM(reply="Es ist jetzt drei Uhr am Nachmittag.")
    bot, tts = make(tmp_path, FakeSTT(text="Wie spät ist es?", probs={"de": 0.95, "en": 0.05}), llm)
    bot.respond(tone())
    system, question = llm.seen[0]
    assert system.role == "system" and "Deutsch" not in system.content  # the same prompt for every language
    assert question.content == "Wie spät ist es?\n\nAntworte immer auf Deutsch."
    assert tts.texts[0][1] == "de"
    bot.respond(tone())
    roles = [m.role for m in llm.seen[1]]
    assert roles == ["system", "user", "assistant", "user"]


def test_history_is_bounded_by_turns_and_tokens_and_trimmed_in_blocks(tmp_path):
    llm = FakeLLM(reply=" ".join(f"word{i}" for i in range(20)))  # no loop: the reply guard keeps it whole
    bot, _ = make(tmp_path, llm=llm, overrides=["conversation.max_turns=4", "language.check_reply=false"])
    for _ in range(9):
        bot.respond(tone())
    # past exchanges sent with each question: up to 4, then down to half (2) at once
    assert [(len(p) - 2) // 2 for p in llm.seen] == [0, 1, 2, 3, 4, 2, 3, 4, 2]
    llm2 = FakeLLM(reply=" ".join(f"word{i}" for i in range(50)))  # ~52 tokens an exchange
    bot2, _ = make(tmp_path, llm=llm2, overrides=["conversation.max_tokens=120", "language.check_reply=false"])
    for _ in range(5):
        bot2.respond(tone())
    # two exchanges (~112 tokens) fit in 120; with a third it is over: down to half (one, ~56)
    assert [(len(p) - 2) // 2 for p in llm2.seen] == [0, 1, 2, 1, 2]
    bot3, _ = make(tmp_path, llm=(llm3 := FakeLLM(reply=" ".join(f"word{i}" for i in range(130)))),
                   overrides=["conversation.max_tokens=120", "language.check_reply=false"])
    for _ in range(3):
        bot3.respond(tone())
    assert [(len(p) - 2) // 2 for p in llm3.seen] == [0, 0, 0]  # one exchange alone is over the budget


def test_fixed_reply_language(tmp_path):
    bot, tts = make(tmp_path, FakeSTT(probs={"fr": 0.9, "en": 0.1}), overrides=["language.reply_language=en"])
    turn = bot.respond(tone())
    assert turn.language == "fr" and turn.reply_language == "en" and tts.texts[0][1] == "en"


def test_restricted_languages_choose_allowed(tmp_path):
    stt = FakeSTT(probs={"nl": 0.5, "de": 0.45, "en": 0.05})
    bot, _ = make(tmp_path, stt, overrides=["language.languages=[de, en]"])
    turn = bot.respond(tone())
    assert turn.language == "de" and turn.decision.reason == "restricted"
    assert ("transcribe", "de") in stt.calls


def test_fixed_stt_language_skips_detection(tmp_path):
    stt = FakeSTT()
    bot, _ = make(tmp_path, stt, overrides=["stt.language=es"])
    turn = bot.respond(tone())
    assert turn.decision.reason == "fixed" and turn.language == "es"
    assert [c[0] for c in stt.calls] == ["transcribe"]


def test_no_voice_shows_caption(tmp_path):
    cfg_over = ["tts.voices={}", "tts.fallback=null", "tts.espeak_fallback=false"]
    bot, _ = make(tmp_path, overrides=cfg_over)
    turn = bot.respond(tone(), output=tmp_path / "r.wav")
    assert turn.status == "ok" and turn.reply_audio is None and "No voice" in turn.notice
    assert not (tmp_path / "r.wav").exists()


def test_voice_that_fails_to_load_falls_back(tmp_path):
    from assistant.core.errors import ModelNotFoundError

    good = FakeTTS()

    class Broken(FakeTTS):
        def load(self):
            raise ModelNotFoundError("model tts_models/en/ljspeech/vits is not downloaded")

    cfg = load_config(None, [f"log.path={tmp_path / 'turns.jsonl'}"])
    factory = lambda o: Broken() if o.backend != "espeak" else good  # noqa: E731  (en: piper or coqui)
    bot = Assistant(cfg, FakeSTT(), FakeLLM(), VoiceRouter(cfg.tts, factory=factory), vad=LoudnessVAD())
    turn = bot.respond(tone())
    assert turn.voice.startswith("espeak") and good.texts
    assert bot.voices.warnings and "unavailable" in bot.voices.warnings[0]


class WrongOnceLLM(FakeLLM):
    """Answers in English first, then in the language it was asked for."""

    def stream(self, messages):
        self.seen.append(list(messages))
        text = ("Sure, I can help you with that today." if len(self.seen) == 1
                else "Klar, dabei kann ich dir heute gerne helfen.")
        yield from (w + " " for w in text.split())


def test_wrong_reply_language_is_regenerated_once(tmp_path):
    llm = WrongOnceLLM()
    bot, tts = make(tmp_path, FakeSTT(text="Kannst du mir helfen?", probs={"de": 0.97, "en": 0.03}), llm)
    turn = bot.respond(tone())
    assert len(llm.seen) == 2
    # the instruction in the user's language, after their words
    assert llm.seen[0][-1].content == "Kannst du mir helfen?\n\nAntworte immer auf Deutsch."
    # the retry's instruction, in German, after the user's words (the last thing the model reads)
    assert llm.seen[1][-1].content == "Kannst du mir helfen?\n\n(Antworte ausschließlich auf Deutsch.)"
    assert turn.reply_text.startswith("Klar")
    assert turn.reply_check == {"expected": "de", "detected": "de", "confidence": turn.reply_check["confidence"],
                                "ok": True, "skipped": None, "retried": True}
    assert tts.texts == [(turn.reply_text, "de")]
    assert log_lines(tmp_path)[0]["reply_check"]["retried"] is True


class AlwaysEnglishLLM(FakeLLM):
    def stream(self, messages):
        self.seen.append(list(messages))
        yield from (w + " " for w in "Sure, I can help you with that today. What do you need?".split())


def test_a_reply_wrong_after_the_retry_is_spoken_by_the_voice_of_its_language(tmp_path):
    llm = AlwaysEnglishLLM()
    bot, tts = make(tmp_path, FakeSTT(text="Kannst du mir helfen?", probs={"de": 0.97, "en": 0.03}), llm)
    turn = bot.respond(tone())
    assert len(llm.seen) == 2  # one retry, no more
    assert tts.texts and all(lang == "en" for _, lang in tts.texts)  # never the German voice
    assert turn.reply_check["expected"] == "de" and turn.reply_check["spoken_as"] == "en"
    assert "English" in turn.notice and "German" in turn.notice
    assert log_lines(tmp_path)[0]["reply_check"]["spoken_as"] == "en"


def test_right_reply_language_is_not_regenerated(tmp_path):
    llm = FakeLLM(reply="Das Wetter ist heute sehr schön.")
    bot, _ = make(tmp_path, FakeSTT(probs={"de": 0.97, "en": 0.03}), llm)
    turn = bot.respond(tone())
    assert len(llm.seen) == 1 and turn.reply_check["ok"] and not turn.reply_check["retried"]


def test_language_switch_by_voice(tmp_path):
    stt, llm = FakeSTT(text="Answer in Spanish, please."), FakeLLM(reply="Claro, el tiempo hoy es muy bueno.")
    bot, tts = make(tmp_path, stt, llm)
    turn = bot.respond(tone())
    assert turn.status == "command" and turn.reply_language == "es" and llm.seen == []
    assert tts.texts == [("De acuerdo, hablaré español.", "es")]  # confirmed audibly, in Spanish
    stt.text = "What is the weather like?"
    turn = bot.respond(tone())
    assert turn.language == "en" and turn.reply_language == "es"
    assert llm.seen[-1][-1].content.endswith("\n\nResponde siempre en español.")
    stt.text = "Speak my language"
    bot.respond(tone())
    stt.text = "And tomorrow?"
    assert bot.respond(tone()).reply_language == "en"
    assert [r["status"] for r in log_lines(tmp_path)] == ["command", "ok", "command", "ok"]


@pytest.mark.parametrize("reply, finish, spoken", [
    ("Sure. The capital of France is Paris, and it is", "length", "Sure."),  # cut off: never spoken
    ("The capital of France is", "length", "The capital of France is."),  # nothing complete: ended cleanly
    ("Sure. The capital of France is Paris, and it is", "stop", "Sure. The capital of France is Paris, and it is"),
    ("I'm glad to hear that. I'm glad to hear that. I'm glad to hear that.", "stop", "I'm glad to hear that."),
])
def test_reply_guard_applies_to_every_turn(tmp_path, reply, finish, spoken):
    class CutLLM(FakeLLM):
        def stream(self, messages):
            self.finish_reason = None
            yield from super().stream(messages)
            self.finish_reason = finish

    bot, tts = make(tmp_path, llm=CutLLM(reply=reply))
    turn = bot.respond(tone())
    assert turn.reply_text == spoken
    assert " ".join(t for t, _ in tts.texts).strip() == spoken


def test_a_kv_cache_backend_is_asked_to_prefill_the_trimmed_prompt_between_turns(tmp_path):
    """After a turn that trimmed history, a backend that keeps the conversation's cache gets the
    next prompt's start (system prompt and history) at once; backends without one are not asked."""

    class Keeps(FakeLLM):
        keeps_sessions = True

        def __init__(self, **kw):
            super().__init__(**kw)
            self.prepared, self.sessions = [], []

        def stream(self, messages, session=None):
            self.sessions.append(session)
            return super().stream(messages)

        def prepare(self, messages, session):
            self.prepared.append((len(self.seen), list(messages), session))

    llm = Keeps(reply="Twenty words of a reply that is short enough to keep.")
    bot, _ = make(tmp_path, llm=llm, overrides=["conversation.max_turns=2", "language.check_reply=false"])
    for _ in range(6):
        bot.respond(tone())
    # 2 turns kept, then down to 1: trimmed after the 3rd and the 5th turn
    assert [after for after, _, _ in llm.prepared] == [3, 5]
    for after, prefix, session in llm.prepared:
        assert llm.seen[after][:len(prefix)] == prefix and len(llm.seen[after]) == len(prefix) + 1
        assert session == llm.sessions[after] == bot.session.id
    plain = FakeLLM(reply="Twenty words of a reply that is short enough to keep.")
    bot2, _ = make(tmp_path, llm=plain, overrides=["conversation.max_turns=2", "language.check_reply=false"])
    for _ in range(4):
        bot2.respond(tone())  # no prepare on a backend without sessions (and no error)
