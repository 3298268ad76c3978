"""The CLI as a user runs it: end-to-end turns with tiny local models, and every bad input."""

from __future__ import annotations

import json
import subprocess
import sys
import wave
from pathlib import Path

import numpy as np
import pytest

from assistant.audio.io import load_audio
from assistant.cli import main

SHARED = Path(__file__).resolve().parents[3] / "shared" / "audio"
JFK = SHARED / "jfk.flac"
FLEURS_DE = SHARED / "fleurs" / "fleurs-de-000.ogg"
needs_audio = pytest.mark.skipif(not JFK.exists(), reason="../shared/audio is not present")


@pytest.fixture(scope="session")
def tiny_config(tmp_path_factory, tiny_whisper_path, tiny_llm_path, tiny_vits):
    """A config that runs every stage on tiny random-weight models, loaded by the real code."""
    d = tmp_path_factory.mktemp("cli")
    model, config = tiny_vits
    text = f"""
stt: {{backend: whisper, model: {tiny_whisper_path}, sample_len: 8, beam_size: null, temperature: 0.0}}
llm: {{backend: transformers, model: {tiny_llm_path}, max_new_tokens: 24, temperature: 0}}
tts:
  voices:
    en: {{backend: coqui, model: {model}, config: {config}}}
  fallback: {{backend: espeak}}
# random weights have meaningless confidence: don't let the no-speech rule refuse them
guard: {{no_speech_threshold: 1.0}}
language: {{check_reply: false, min_probability: 0.0}}
log: {{path: {d / 'turns.jsonl'}}}
"""
    p = d / "tiny.yaml"
    p.write_text(text)
    return p


def records(cfg: Path) -> list[dict]:
    log = cfg.parent / "turns.jsonl"
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def run_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """The real console entry point in a fresh process (what a user types)."""
    return subprocess.run([sys.executable, "-m", "assistant", *args], capture_output=True, text=True,
                          cwd=cwd, timeout=300)


def assert_clean_error(proc_or_err: str) -> None:
    assert "Traceback" not in proc_or_err
    lines = [line for line in proc_or_err.strip().splitlines() if line.strip()]
    assert lines and lines[0].startswith("error:"), proc_or_err


def audible(path: Path) -> float:
    audio = load_audio(path, 16000)
    assert audio.duration > 0.2
    return float(np.sqrt(np.mean(audio.samples ** 2)))


# ------------------------------------------------------------------ end to end

@needs_audio
def test_respond_jfk_end_to_end(tiny_config, tmp_path):
    out = tmp_path / "reply.wav"
    before = len(records(tiny_config))
    proc = run_cli("respond", str(JFK), "-o", str(out), "--config", str(tiny_config), "--json")
    assert proc.returncode == 0, proc.stderr
    turn = json.loads(proc.stdout)
    assert turn["status"] == "ok" and turn["transcript"] and turn["reply"]
    assert turn["language"] and turn["language_decision"]["top"]
    assert {"decode", "stt", "llm", "tts", "total"} <= set(turn["timings_ms"])
    with wave.open(str(out)) as w:
        assert w.getnchannels() == 1 and w.getframerate() == 22050 and w.getnframes() > 2205
    assert audible(out) > 1e-3
    rec = records(tiny_config)[before]
    assert rec["input"] == str(JFK) and rec["output"] == str(out) and rec["reply"] == turn["reply"]
    assert turn["id"] == rec["id"] and turn["session"] == rec["session"] and turn["turn"] == rec["turn"]


@needs_audio
@pytest.mark.parametrize("ext", ["mp3", "ogg", "flac"])
def test_respond_fleurs_opus_to_other_formats(tiny_config, tmp_path, ext, capsys):
    out = tmp_path / f"reply.{ext}"
    assert main(["respond", str(FLEURS_DE), "-o", str(out), "-c", str(tiny_config),
                 "--set", "stt.language=de"]) == 0
    printed = capsys.readouterr().out
    assert "You (de German" in printed and "Assistant (de)" in printed and "stt" in printed
    assert audible(out) > 1e-3
    rec = records(tiny_config)[-1]
    assert rec["language"] == "de" and rec["voice"].startswith("espeak")  # de has no tiny voice: fallback


@needs_audio
def test_transcribe_formats(tiny_config, capsys):
    for fmt in ("txt", "json", "srt", "vtt"):
        assert main(["transcribe", str(JFK), "--format", fmt, "-c", str(tiny_config)]) == 0
        out = capsys.readouterr().out
        if fmt == "json":
            assert set(json.loads(out)) >= {"text", "language", "language_probability", "segments"}
        if fmt == "srt":
            assert "-->" in out and "," in out.split("-->")[0]
        if fmt == "vtt":
            assert out.startswith("WEBVTT")


@needs_audio
def test_transcribe_options_are_passed(tiny_config, capsys):
    assert main(["transcribe", str(JFK), "--format", "json", "--language", "fr", "--task", "translate",
                 "--initial-prompt", "Kennedy", "-c", str(tiny_config)]) == 0
    t = json.loads(capsys.readouterr().out)
    assert t["language"] == "fr" and t["task"] == "translate"


@needs_audio
def test_transcribe_says_when_nothing_was_heard(tiny_config, capsys, monkeypatch):
    """An empty transcript comes with a line on stderr, so stdout stays the transcript alone."""
    from assistant.core.types import Transcript
    from assistant.engine.stages import Heard, Stages

    monkeypatch.setattr(Stages, "hear", lambda self, utterance, *a, **k: Heard(
        Transcript("", "pt", None), None, "nothing was transcribed"))
    assert main(["transcribe", str(JFK), "-c", str(tiny_config)]) == 0
    printed = capsys.readouterr()
    assert printed.out.strip() == "" and "No speech heard: nothing was transcribed" in printed.err


def test_say(tiny_config, tmp_path):
    out = tmp_path / "hello.ogg"
    assert main(["say", "Hello there, how are you?", "-o", str(out), "-c", str(tiny_config)]) == 0
    assert audible(out) > 1e-3
    out2 = tmp_path / "hallo.wav"
    assert main(["say", "Guten Tag!", "--language", "de", "-o", str(out2), "-c", str(tiny_config)]) == 0
    assert audible(out2) > 1e-3


def test_config_show_and_check(tiny_config, capsys):
    assert main(["config", "show", "-c", str(tiny_config), "--set", "stt.beam_size=2"]) == 0
    out = capsys.readouterr().out
    assert "beam_size: 2" in out and "backend: whisper" in out
    root = Path(__file__).resolve().parents[2]
    for cfg in sorted((root / "configs").glob("*.yaml")):
        assert main(["config", "check", str(cfg)]) == 0
    assert "OK" in capsys.readouterr().out


# ------------------------------------------------------------------ bad input

def _bad_files(tmp: Path) -> dict[str, Path]:
    empty = tmp / "empty.wav"
    empty.write_bytes(b"")
    text = tmp / "notes.wav"
    text.write_text("this is not audio\n")
    corrupt = tmp / "noise.mp3"
    corrupt.write_bytes(np.random.default_rng(1).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    files = {"missing": tmp / "nope.flac", "empty": empty, "text": text, "corrupt": corrupt}
    if JFK.exists():
        truncated = tmp / "cut.flac"
        truncated.write_bytes(JFK.read_bytes()[:30000])
        files["truncated"] = truncated
    return files


@pytest.mark.parametrize("kind", ["missing", "empty", "text", "corrupt", "truncated"])
def test_bad_audio_files(tiny_config, tmp_path, capsys, kind):
    files = _bad_files(tmp_path)
    if kind not in files:
        pytest.skip("../shared/audio is not present")
    before = records(tiny_config)
    code = main(["respond", str(files[kind]), "-o", str(tmp_path / "r.wav"), "-c", str(tiny_config)])
    err = capsys.readouterr().err
    assert code == 3, err
    assert_clean_error(err)
    assert str(files[kind].name) in err
    assert records(tiny_config) == before  # refused before a turn started: no turn to log


def test_silence_and_zero_length_get_no_reply(tiny_config, tmp_path, capsys):
    for name, n in (("silence.wav", 32000), ("zero.wav", 0)):
        p = tmp_path / name
        with wave.open(str(p), "wb") as w:
            w.setnchannels(2)
            w.setsampwidth(2)
            w.setframerate(44100)
            w.writeframes(np.zeros(n * 2, np.int16).tobytes())
        out = tmp_path / "r.wav"
        assert main(["respond", str(p), "-o", str(out), "-c", str(tiny_config)]) == 9
        assert "didn't hear any speech" in capsys.readouterr().out
        assert not out.exists()
        rec = records(tiny_config)[-1]
        assert rec["status"] == "no_speech" and rec["reply"] == "" and rec["input"] == str(p)


def test_bad_output_extension(tiny_config, tmp_path, capsys):
    assert main(["respond", str(JFK), "-o", str(tmp_path / "r.xyz"), "-c", str(tiny_config)]) == 3
    assert_clean_error(capsys.readouterr().err)


@pytest.mark.parametrize("yaml_text,expect", [
    ("stt:\n  model: [small\n", "YAML syntax error"),
    ("stt:\n  colour: blue\n", "stt.colour: unknown key"),
    ("llm:\n  max_new_tokens: lots\n", "llm.max_new_tokens"),
    ("tts:\n  voices:\n    en: {backend: festival}\n", "valid: coqui, espeak"),
    ("stt:\n  backend: vosk\n", "valid: faster-whisper, openai, whisper"),
])
def test_bad_configs(tmp_path, capsys, yaml_text, expect):
    cfg = tmp_path / "bad.yaml"
    cfg.write_text(yaml_text)
    assert main(["config", "check", str(cfg)]) == 2
    err = capsys.readouterr().err
    assert_clean_error(err)
    assert expect in err and str(cfg) in err
    assert main(["respond", str(JFK), "-c", str(cfg)]) == 2  # same check before any turn


def test_model_path_that_does_not_exist(tiny_config, tmp_path, capsys):
    missing = tmp_path / "models" / "small.pt"
    code = main(["respond", str(JFK), "-o", str(tmp_path / "r.wav"), "-c", str(tiny_config),
                 "--set", f"stt.model={missing}"])
    err = capsys.readouterr().err
    assert code == 4 and str(missing) in err
    assert_clean_error(err)
    code = main(["respond", str(JFK), "-c", str(tiny_config), "--set", f"llm.model={tmp_path / 'nollm'}"])
    err = capsys.readouterr().err
    assert code == 4 and "nollm" in err
    assert_clean_error(err)


@needs_audio
def test_llm_server_down_names_url_and_logs_failed_turn(tiny_config, tmp_path, capsys):
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens here now
    url = f"http://127.0.0.1:{port}/v1"
    code = main(["respond", str(JFK), "-o", str(tmp_path / "r.wav"), "-c", str(tiny_config),
                 "--set", "llm.backend=openai", "--set", f"llm.base_url={url}", "--set", "llm.model=qwen2.5:1.5b"])
    err = capsys.readouterr().err
    assert code == 5 and url in err
    assert_clean_error(err)
    rec = records(tiny_config)[-1]
    assert rec["status"] == "failed" and url in rec["error"] and rec["transcript"]


def test_unknown_command_and_help():
    proc = run_cli("--help")
    assert proc.returncode == 0 and "respond" in proc.stdout and "transcribe" in proc.stdout


def test_languages_lists_policy_and_voice(tmp_path, capsys):
    cfg = tmp_path / "l.yaml"
    cfg.write_text("language: {languages: [de, en]}\ntts: {voices: {de: {backend: espeak, voice: de}}}\n")
    assert main(["languages", "--json", "-c", str(cfg)]) == 0
    rows = {r["code"]: r for r in json.loads(capsys.readouterr().out)}
    assert len(rows) == 100
    assert rows["de"]["allowed"] and rows["en"]["allowed"] and not rows["fr"]["allowed"]
    assert rows["de"]["voice"] == "espeak:de"
    assert rows["fr"]["voice"].startswith("espeak")  # the fallback's own French voice
    # espeak-ng outside English is marked as poorly understood, with the way to a better voice
    assert (rows["de"]["poor_voice"] and "espeak" in rows["de"]["poor_voice"]
            and "py-nanotts" in rows["de"]["better_voice"])
    assert main(["languages", "-c", str(cfg)]) == 0
    out = capsys.readouterr().out
    assert "German" in out and "poorly voiced de (German)" in out


def test_languages_shows_the_voice_that_runs_offline(tmp_path, capsys, monkeypatch):
    """A Coqui voice that is not cached, with no hub: Pico speaks German, and is not marked poor."""
    pytest.importorskip("py_nanotts")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TTS_HOME", str(tmp_path / "tts"))
    cfg = tmp_path / "l.yaml"
    cfg.write_text("tts: {voices: {de: {backend: coqui, model: tts_models/de/thorsten/vits}, "
                   "pt: {backend: coqui, model: tts_models/pt/cv/vits}}}\n")
    assert main(["languages", "--json", "-c", str(cfg)]) == 0
    rows = {r["code"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows["de"]["voice"] == "pico" and rows["de"]["poor_voice"] is None
    assert rows["pt"]["voice"].startswith("espeak") and "espeak" in rows["pt"]["poor_voice"]
