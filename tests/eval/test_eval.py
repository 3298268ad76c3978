"""``assistant eval stt`` / ``eval voices``: the scoring on fakes (exact figures), the commands on a
tiny folder with the tiny random-weight Whisper (structure, JSON, errors), and the real round
trip where espeak-ng and the starter Whisper are present."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from assistant.core.errors import AudioFileError
from assistant.eval import stt as eval_stt
from assistant.eval import voices as eval_voices
from assistant.eval.sentences import SENTENCES
from assistant.eval.wer import normalize, word_errors
from tests.cli.test_cli import assert_clean_error, run_cli
from tests.support.fakes import FakeLLM, FakeSTT, FakeTTS
from tests.support.shared import shared_audio, starter_model


@pytest.mark.parametrize("text, expected", [
    ("Hello, World!", "hello world"),
    ("L'homme est là.", "l homme est là"),
    ("  Twenty-one   «apples»…", "twenty one apples"),
    ("Straße ÜBER", "straße über"),
    ("", ""),
])
def test_normalize(text, expected):
    assert normalize(text) == expected


@pytest.mark.parametrize("ref, hyp, wer", [
    ("the cat sat", "The cat sat.", 0.0),
    ("the cat sat", "the dog sat", 1 / 3),
    ("the cat sat", "the cat sat down", 1 / 3),
    ("the cat sat", "", 1.0),
    ("a b c d", "a c d", 0.25),
])
def test_word_errors(ref, hyp, wer):
    assert word_errors(ref, hyp).wer == pytest.approx(wer)


def test_language_from_file_name():
    assert eval_stt.language_from_name("fleurs-de-000.ogg") == "de"
    assert eval_stt.language_from_name("clip_fr.wav") == "fr"
    assert eval_stt.language_from_name("jfk.flac") is None


def _folder(tmp_path: Path, names: list[str], manifest: dict | None = None) -> Path:
    d = tmp_path / "clips"
    d.mkdir()
    src = shared_audio("fleurs", "fleurs-en-000.ogg")
    for name in names:
        shutil.copy(src, d / name)
        (d / name).with_suffix(".txt").write_text("hello there\n")
    if manifest is not None:
        (d / "manifest.json").write_text(json.dumps(manifest))
    return d


def test_scores_per_language_on_a_fake(tmp_path):
    d = _folder(tmp_path, ["a-en-1.ogg", "b-de-1.ogg", "c.ogg"], manifest={"c.ogg": "en"})
    (d / "no-transcript.ogg").write_bytes((d / "c.ogg").read_bytes())  # ignored: no .txt
    clips = eval_stt.find_clips(d)
    assert [(c.audio.name, c.language) for c in clips] == [("a-en-1.ogg", "en"), ("b-de-1.ogg", "de"), ("c.ogg", "en")]
    report = eval_stt.evaluate(FakeSTT(text="hello where"), clips)
    en, de, overall = report["languages"]["en"], report["languages"]["de"], report["overall"]
    assert en["clips"] == 2 and en["wer"] == 0.5 and en["lid_correct"] == 2 and en["lid_scored"] == 2
    assert de["lid_correct"] == 0 and de["lid_accuracy"] == 0.0
    assert overall["clips"] == 3 and overall["wer"] == 0.5 and overall["lid_correct"] == 2
    assert overall["mean_probability"] == pytest.approx(0.9)
    assert overall["rtf"] > 0 and overall["audio_s"] > 0
    assert report["clips"][1]["detected"] == "en" and report["clips"][1]["hypothesis"] == "hello where"


@pytest.mark.parametrize("setup, message", [
    (lambda d: None, "is not a directory"),
    (lambda d: d.mkdir(), "no recording"),
    (lambda d: (d.mkdir(), (d / "x.ogg").write_bytes(b"x")), "no recording"),
    (lambda d: (d.mkdir(), (d / "manifest.json").write_text("[1]")), "not a JSON object"),
    (lambda d: (d.mkdir(), (d / "manifest.json").write_text('{"a.ogg": "xx"}')), "unknown language codes: xx"),
])
def test_bad_folders(tmp_path, setup, message):
    d = tmp_path / "dir"
    setup(d)
    with pytest.raises(AudioFileError, match=message):
        eval_stt.find_clips(d)


@pytest.fixture(scope="module")
def tiny_config(tmp_path_factory, tiny_whisper_path) -> Path:
    """The tiny random-weight Whisper, loaded by the real code (its words are meaningless)."""
    p = tmp_path_factory.mktemp("eval") / "tiny.yaml"
    p.write_text(f"stt: {{backend: whisper, model: {tiny_whisper_path}, sample_len: 8, beam_size: null, "
                 "temperature: 0.0, device: cpu}\n")
    return p


def test_eval_stt_command_on_a_tiny_folder(tmp_path, tiny_config):
    d = _folder(tmp_path, ["fleurs-en-000.ogg", "fleurs-de-000.ogg"])
    proc = run_cli("eval", "stt", str(d), "--json", "-c", str(tiny_config))
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert set(report["languages"]) == {"de", "en"} and report["overall"]["clips"] == 2
    assert report["overall"]["lid_scored"] == 2 and report["overall"]["wer"] is not None
    assert report["stt"]["backend"] == "whisper"
    table = run_cli("eval", "stt", str(d), "-c", str(tiny_config))
    assert table.returncode == 0 and "language ID" in table.stdout and "all" in table.stdout


def test_eval_stt_command_bad_input(tmp_path):
    for target in (tmp_path / "missing", tmp_path):
        proc = run_cli("eval", "stt", str(target))
        assert proc.returncode == 3
        assert_clean_error(proc.stderr)


def test_eval_voices_on_fakes(tmp_path):
    from assistant.config import load_config
    from assistant.modes.file import Assistant
    from assistant.tts.voices import VoiceRouter

    cfg = load_config(None, [f"log.path={tmp_path / 'turns.jsonl'}"])
    tts = FakeTTS()
    bot = Assistant(cfg, FakeSTT(text=SENTENCES["de"][0]), FakeLLM(), VoiceRouter(cfg.tts, factory=lambda o: tts))
    results = eval_voices.evaluate(bot, ["de", "en"])
    assert results[0]["wer"] == pytest.approx(
        sum(word_errors(s, SENTENCES["de"][0]).substitutions + word_errors(s, SENTENCES["de"][0]).deletions
            + word_errors(s, SENTENCES["de"][0]).insertions for s in SENTENCES["de"])
        / sum(len(normalize(s).split()) for s in SENTENCES["de"]))
    assert results[0]["sentences"][0]["wer"] == 0.0 and results[0]["voice"].startswith("coqui")
    assert [t for t, _ in tts.texts[:5]] == list(SENTENCES["de"])
    assert ("transcribe", "de") in bot.stt.calls  # the language is fixed
    assert eval_voices.languages_to_check(cfg, None) == sorted(set(cfg.tts.voices) & set(SENTENCES))


def test_eval_voices_unknown_language_is_a_config_error(tmp_path):
    proc = run_cli("eval", "voices", "--languages", "en,xx", "--set", "tts.voices={}")
    assert proc.returncode == 2
    assert_clean_error(proc.stderr)
    assert "xx" in proc.stderr


def test_espeak_round_trip_with_the_starter_whisper(tmp_path):
    """A real round trip: espeak-ng speaks English, the starter Whisper base hears it."""
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed")
    model = starter_model("whisper-base-ct2")
    proc = run_cli("eval", "voices", "--languages", "en", "--json", "--set", "tts.voices={}",
                   "--set", "tts.fallback={backend: espeak}", "--set", "stt.backend=faster-whisper",
                   "--set", f"stt.model={model}", "--set", "stt.beam_size=null", "--set", "stt.device=cpu")
    assert proc.returncode == 0, proc.stderr
    (en,) = json.loads(proc.stdout)["voices"]
    assert en["voice"].startswith("espeak") and en["wer"] is not None and en["wer"] <= 0.35, en


def test_eval_voices_all_rows_every_voice_the_defaults_can_pick(tmp_path, monkeypatch):
    """--all: each voice the default map can pick for a language, best first, each scored on its own
    (real synthesis; a fake STT that hears every sentence right: the rows' structure, not the WER)."""
    pytest.importorskip("py_nanotts")
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed")
    from assistant.config import load_config
    from assistant.modes.file import Assistant
    from assistant.tts.voices import VoiceRouter

    monkeypatch.setenv("TTS_HOME", str(tmp_path / "tts"))  # no Coqui voice cached
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf"))  # no Piper voice but the starter pack's
    assert [o.backend for o in eval_voices.default_candidates("de")] == ["pico", "espeak"]
    assert [o.backend for o in eval_voices.default_candidates("pt")] == ["espeak"]
    assert [o.backend for o in eval_voices.default_candidates("en")][-2:] == ["pico", "espeak"]

    class EchoSTT(FakeSTT):
        def transcribe(self, audio, *, language=None, initial_prompt=None):
            assert audio.duration > 0.5  # real speech came in
            return super().transcribe(audio, language=language)

    cfg = load_config(None, [f"log.path={tmp_path / 'turns.jsonl'}"])
    bot = Assistant(cfg, EchoSTT(text=SENTENCES["it"][0]), FakeLLM(), VoiceRouter(cfg.tts, factory=lambda o: FakeTTS()))
    rows = eval_voices.evaluate_all(bot, ["it", "pt"])
    assert [(r["language"], r["backend"]) for r in rows] == [("it", "pico"), ("it", "espeak"), ("pt", "espeak")]
    assert rows[0]["voice"] == "pico" and rows[0]["sentences"][0]["wer"] == 0.0
    assert all(r["audio_s"] > 2 and isinstance(r["poor"], bool) for r in rows)


def test_eval_voices_texts_from_a_folder(tmp_path):
    (tmp_path / "fleurs-de-000.txt").write_text("das wetter ist schön\n", encoding="utf-8")
    (tmp_path / "fleurs-de-001.txt").write_text("  \n", encoding="utf-8")  # empty: skipped
    (tmp_path / "clip-es.txt").write_text("hola a todos", encoding="utf-8")
    (tmp_path / "notes.txt").write_text("no language in the name", encoding="utf-8")
    assert eval_voices.load_texts(tmp_path) == {"de": ("das wetter ist schön",), "es": ("hola a todos",)}
    empty = tmp_path / "empty"
    empty.mkdir()
    for folder in (tmp_path / "nope", empty):
        proc = run_cli("eval", "voices", "--texts", str(folder))
        assert proc.returncode == 3
        assert_clean_error(proc.stderr)
