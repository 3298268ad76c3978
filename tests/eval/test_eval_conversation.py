"""``assistant eval conversation``: the question data, the scoring (keywords, numbers, degenerate
replies) and the loop on fake stages with exact figures, the command's input checks, and a small
real slice on the starter models with floors (slow)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from assistant.core.errors import ConfigError
from assistant.core.hub import starter_dir
from assistant.eval import conversation as conv
from assistant.eval.questions import available_languages, check_languages, load_questions
from assistant.eval.wer import normalize
from tests.cli.test_cli import assert_clean_error, run_cli
from tests.support.fakes import FakeLLM, FakeSTT, FakeTTS, LoudnessVAD, tone

LANGUAGES = ["de", "en", "es", "fr", "it", "pt"]
ROOT = Path(__file__).resolve().parents[2]


# ------------------------------------------------------------------ the data

def test_every_language_has_enough_questions():
    assert available_languages() == LANGUAGES
    for lang in LANGUAGES:
        questions = load_questions(lang)
        assert len(questions) >= 20, lang
        assert len({q.text for q in questions}) == len(questions), f"{lang}: a question twice"
        assert all(len(normalize(q.text).split()) <= 12 for q in questions), (
            f"{lang}: a question too long to say quickly")


@pytest.mark.parametrize("lang", LANGUAGES)
def test_no_answer_is_given_away_by_its_question(lang):
    """An echo of the question must never count as a correct answer."""
    for q in load_questions(lang):
        assert not conv.is_correct(q.text, q.answers, lang), q
        assert all(conv.normalize_answer(a, lang) for a in q.answers), q


def test_the_same_questions_in_every_language():
    """The files are translations of one list: the same numeric answers at the same places."""
    def numbers(lang):
        return [sorted(a for a in q.answers if a.isdigit()) for q in load_questions(lang)]

    for lang in LANGUAGES:
        assert numbers(lang) == numbers("en"), lang


def test_limit_and_unknown_languages():
    assert [q.id for q in load_questions("fr", 3)] == ["fr-01", "fr-02", "fr-03"]
    assert check_languages(None) == LANGUAGES and check_languages(["pt", "de", "pt"]) == ["pt", "de"]
    with pytest.raises(ConfigError, match="no questions for xx, zz"):
        check_languages(["de", "xx", "zz"])


# ------------------------------------------------------------------ scoring

@pytest.mark.parametrize("lang, reply, answers, correct", [
    ("de", "Drei plus vier ist 7.", ["sieben"], True),  # digits = number words
    ("de", "Das sind Sieben.", ["7"], True),
    ("de", "Ein Tag hat 24 Stunden.", ["vierundzwanzig"], True),
    ("fr", "Il y a vingt-quatre heures.", ["24"], True),
    ("pt", "Um dia tem 24 horas.", ["vinte e quatro"], True),
    ("es", "La capital es Berlin.", ["Berlín"], True),  # accents
    ("de", "Schnee ist WEISS.", ["weiß"], True),  # ß = ss, case
    ("it", "Il giorno dopo è martedi", ["martedì"], True),
    ("en", "I go there often.", ["ten"], False),  # whole words only
    ("en", "Seventeen.", ["seven"], False),
    ("de", "Die Hauptstadt ist Rom.", ["Paris"], False),
    ("en", "", ["Paris"], False),
])
def test_keyword_matching(lang, reply, answers, correct):
    assert conv.is_correct(reply, answers, lang) is correct


def test_numbers_to_words():
    assert conv.numbers_to_words("3 + 4 = 7", "de") == " drei  +  vier  =  sieben "
    assert conv.normalize_answer("Vingt-quatre, 24!", "fr") == "vingt quatre vingt quatre"
    assert conv.number_errors("drei plus vier", "3 plus 4", "de").wer == 0.0
    assert conv.numbers_to_words("12", "xx") == "12"  # a language num2words lacks: digits stay


@pytest.mark.parametrize("reply, question, cut, reason", [
    ("", "What is the capital of France?", False, "empty"),
    (" ... ", "What is the capital of France?", False, "empty"),
    ("What is the capital of France?", "What is the capital of France?", False, "echo"),
    ("What is the capital of France.", "what's the capital of France?", False, "echo"),
    ("I like it. I like it. I like it.", "Do you like it?", False, "loop"),
    ("The sky is blue. It is very blue today and the sky is blue.", "Sky?", False, None),
    ("de la fin de la fin de la fin de la fin", "Quelle fin ?", False, "loop"),
    ("Paris is the capital and the largest city of", "What is the capital of France?", True, "cut off"),
    ("The capital of France is Paris.", "What is the capital of France?", False, None),
    ("Paris.", "What is the capital of France?", False, None),
    ("Sieben.", "Was ist drei plus vier?", False, None),
])
def test_degenerate_replies(reply, question, cut, reason):
    assert conv.degenerate_reason(reply, question, cut) == reason


def test_question_voices():
    lang, opts = conv.parse_question_voice("de=espeak")
    assert lang == "de" and opts.backend == "espeak"
    lang, opts = conv.parse_question_voice("en=piper:/x/en_US-joe-medium.onnx")
    assert opts.backend == "piper" and opts.model == "/x/en_US-joe-medium.onnx"
    assert conv.parse_question_voice("pt=espeak:pt-br")[1].voice == "pt-br"
    for bad in ("de", "=espeak", "de=", "de=nope"):
        with pytest.raises(ConfigError):
            conv.parse_question_voice(bad)
    assert conv.default_question_voice("pt").backend == "espeak"  # no better Portuguese voice here


# ------------------------------------------------------------------ the loop on fakes

def _bot(tmp_path, stt: FakeSTT, llm: FakeLLM):
    from assistant.config import load_config
    from assistant.modes.file import Assistant
    from assistant.tts.voices import VoiceRouter

    cfg = load_config(None, [f"log.path={tmp_path / 'turns.jsonl'}"])
    tts = FakeTTS()
    return Assistant(cfg, stt, llm, VoiceRouter(cfg.tts, factory=lambda o: tts), vad=LoudnessVAD())


class _QuestionTTS(FakeTTS):
    """A question voice: 1.5 s of tone (long enough for the language policy to trust detection)."""

    def synthesize(self, text, language):
        self.texts.append((text, language))
        yield tone(1.5)


def _speaker():
    return conv.QuestionSpeaker({"de": conv._options("espeak")}, factory=lambda opts: _QuestionTTS())


def test_the_loop_on_fakes(tmp_path):
    questions = {"de": load_questions("de", 2)}  # the capital of France; three plus four
    stt = FakeSTT(text=questions["de"][0].text, probs={"de": 0.9, "en": 0.1})
    bot = _bot(tmp_path, stt, FakeLLM(reply="Die Hauptstadt von Frankreich ist Paris."))
    seen = []
    report = conv.evaluate(bot, questions, _speaker(), lambda row, so_far: seen.append(row))
    de = report["languages"]["de"]
    assert [r.question.id for r in seen] == ["de-01", "de-02"]
    assert de["questions"] == 2 and de["lid_accuracy"] == 1.0
    assert de["wer"] == pytest.approx(4 / 11)  # question 2 heard as question 1: 3 substitutions + 1 insertion
    assert de["correct"] == 0.5 and de["degenerate"] == 0.0
    assert de["right_language"] == 1.0 and de["language_judged"] == 2
    assert de["reply_wer"] is not None and de["first_audio_median_ms"] is not None and de["failed"] == 0
    assert report["overall"]["questions"] == 2
    assert [r["correct"] for r in report["rows"]] == [True, False]
    assert stt.calls[-1] == ("transcribe", "de")  # the reply heard back with the language fixed
    assert not (tmp_path / "turns.jsonl").exists()  # an evaluation is not the user's conversation
    json.dumps(report)


def test_english_replies_and_empty_ones_are_counted(tmp_path):
    questions = {"de": load_questions("de", 1)}
    stt = FakeSTT(text=questions["de"][0].text, probs={"de": 0.9, "en": 0.1})
    bot = _bot(tmp_path, stt, FakeLLM(reply="The capital of France is Paris, a lovely city."))
    de = conv.evaluate(bot, questions, _speaker())["languages"]["de"]
    assert de["right_language"] == 0.0 and de["correct"] == 1.0  # Paris, but in English
    bot = _bot(tmp_path, stt, FakeLLM(reply=""))
    report = conv.evaluate(bot, questions, _speaker())
    assert report["languages"]["de"]["failed"] == 1 and report["languages"]["de"]["degenerate"] == 1.0
    assert report["rows"][0]["degenerate"] == "empty" and report["rows"][0]["right_language"] is None


# ------------------------------------------------------------------ the command

@pytest.mark.parametrize("args, needle", [
    (["--languages", "de,xx"], "xx"),
    (["--limit", "0"], "at least 1"),
    (["--question-voice", "de=nope"], "nope"),
    (["--question-voice", "xx=espeak"], "xx"),
])
def test_command_checks_its_input_first(args, needle):
    proc = run_cli("eval", "conversation", *args)
    assert proc.returncode == 2, proc.stderr
    assert needle in proc.stderr
    if "--limit" not in args:  # argparse's own usage line comes first there
        assert_clean_error(proc.stderr)



def test_command_never_overwrites_a_saved_report(tmp_path):
    saved = tmp_path / "report.json"
    saved.write_text("mine")
    proc = run_cli("eval", "conversation", "--languages", "de", "--save", str(saved))
    assert proc.returncode == 2 and "exists" in proc.stderr
    assert_clean_error(proc.stderr)
    assert saved.read_text() == "mine"


def test_reply_language_judge():
    judge = conv.LanguageJudge()
    assert judge.judge("3 + 4 = 7", "en") == (None, None)  # too few words to judge
    assert judge.judge("Paris.", "fr") == (None, None)
    assert judge.judge("The capital of France is Paris.", "en") == ("en", True)  # low-accuracy lingua says fr
    assert judge.judge("The capital of France is Paris.", "de")[1] is False
    assert judge.judge("A capital da França é Paris.", "pt")[1] is True  # pt a close runner-up to fr
    assert judge.judge("Die Hauptstadt von Frankreich ist Paris.", "de") == ("de", True)


# ------------------------------------------------------------------ real models (slow)

# Floors for the starter pack as `configs/cpu.yaml` runs it offline (the starter fallback:
# Whisper base int8 greedy, Qwen2.5-Coder-0.5B through onnxruntime-genai int4, greedy here so the
# slice repeats; Piper joe speaks English, Pico German, Spanish and French; the questions asked by
# Piper joe (en) and Pico), set from the measured slice with a margin. MEASURED is what the slice
# gave on 6 December 2026 (CTranslate2 int8 with the earlier prompt: the same but es degenerate 0.0,
# reply_wer en 0.07, de 0.07, fr 0.17); es degenerate is at its floor: "El día viene después del lunes." is
# counted as an echo of the question. The whole evaluation's table is in docs/quality.md.
SLICE = ("en", "de", "es", "fr")
MEASURED = {  # the slice (greedy), 3 minutes on the 2-core CPU at load 11
    "en": {"lid_accuracy": 1.0, "wer": 0.0, "right_language": 1.0, "degenerate": 0.0, "reply_wer": 0.13,
           "correct": 1.0},
    "de": {"lid_accuracy": 1.0, "wer": 0.0, "right_language": 1.0, "degenerate": 0.0, "reply_wer": 0.16},
    "es": {"lid_accuracy": 1.0, "wer": 0.12, "right_language": 1.0, "degenerate": 0.33, "reply_wer": 0.0},
    "fr": {"lid_accuracy": 1.0, "wer": 0.12, "right_language": 1.0, "degenerate": 0.0, "reply_wer": 0.05},
}
FLOORS = {lang: {"lid_accuracy": (">=", 0.66), "wer": ("<=", 0.35), "right_language": (">=", 0.66),
                 "degenerate": ("<=", 0.34), "reply_wer": ("<=", 0.35)} for lang in SLICE}
FLOORS["en"]["correct"] = (">=", 0.33)


@pytest.mark.slow
def test_starter_models_above_the_floors():
    """A small slice of the evaluation on the starter models, through the command a user runs."""
    import importlib.util

    if importlib.util.find_spec("py_nanotts") is None:
        pytest.skip("py-nanotts (the pico voices) is not installed")
    if not (starter_dir() / "qwen2.5-coder-0.5b-instruct-hf").is_dir():
        pytest.skip("the starter pack has no Qwen model: python3 -m assistant models install starter")
    command = [sys.executable, "-m", "assistant", "eval", "conversation", "--languages", ",".join(SLICE),
               "--limit", "3", "--json", "--config", str(ROOT / "configs" / "cpu.yaml"),
               "--set", "llm.temperature=0", "--set", "log.path=null"]
    # about 2 minutes on an idle 2-core CPU; the limit leaves room for a busy one
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(command, capture_output=True, text=True, timeout=1800, env=env)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    failures = []
    for lang, floors in FLOORS.items():
        row = report["languages"][lang]
        assert row["questions"] == 3 and row["failed"] == 0, row
        for key, (op, limit) in floors.items():
            value = row[key]
            if value is None or (value < limit if op == ">=" else value > limit):
                failures.append(f"{lang} {key} = {value} (floor {op} {limit})")
    print({lang: {k: report['languages'][lang][k] for k in FLOORS[lang]} for lang in SLICE})
    assert not failures, failures
