"""``assistant bench --quick``: the benchmark runs end to end on test-size models and writes valid JSON."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from assistant.cli import main
from assistant.models import starter_dir


def _is_stat(value) -> bool:
    return (isinstance(value, dict) and set(value) == {"median", "min", "max"}
            and all(isinstance(v, float) and math.isfinite(v) for v in value.values())
            and value["min"] <= value["median"] <= value["max"])


@pytest.fixture(scope="module")
def quick(tmp_path_factory) -> dict:
    tmp = tmp_path_factory.mktemp("bench")
    out = tmp / "out.json"
    assert main(["bench", "--quick", "--json", str(out), "--work-dir", str(tmp / "models")]) == 0
    return json.loads(out.read_text())


def test_settings_and_environment(quick):
    assert quick["schema"] == 1 and quick["quick"] is True
    assert quick["settings"]["sizes"] == ["test"] and quick["settings"]["repeat"] == 1
    assert quick["environment"]["versions"]["faster-whisper"]


def test_stt_rows_are_like_for_like(quick):
    (size,) = quick["stt"]["sizes"]
    assert size["size"] == "test" and size["reference"] == "whisper fp32"
    rows = {r["name"]: r for r in size["backends"]}
    assert set(rows) == {"whisper fp32", "faster-whisper int8", "faster-whisper int8, exact detection",
                         "faster-whisper float32"}
    for r in rows.values():
        assert _is_stat(r["wall_s"]) and _is_stat(r["rtf"]) and r["speedup"] > 0 and r["load_s"] >= 0
        # every backend decoded exactly the same number of tokens
        assert r["tokens"]["match"] and r["tokens"]["decoded"] == r["tokens"]["expected"] == 8
    assert rows["whisper fp32"]["speedup"] == 1.0
    # where the time goes: detection + decoding encode twice, unless detection's pass is reused
    windows = sum(math.ceil(a["seconds"] / 30) for a in quick["stt"]["audio"])
    assert rows["whisper fp32"]["breakdown"]["encoder_passes"] == 2 * windows
    assert rows["faster-whisper int8"]["breakdown"]["encoder_passes"] == windows
    assert rows["faster-whisper int8, exact detection"]["breakdown"]["encoder_passes"] == 2 * windows
    for r in rows.values():
        b = r["breakdown"]
        assert _is_stat(b["encoder_pass_s"]) and b["encoder_share"] > 0 and b["rest_ms_per_token"] >= 0
    # same weights at float32, greedy: the same tokens as openai-whisper
    assert rows["faster-whisper float32"]["same_tokens_as_reference"] is True


def test_llm_tts_and_turn(quick):
    llm = quick["llm"]
    assert _is_stat(llm["ttft_s"]) and _is_stat(llm["tokens_per_s"]) and llm["tokens"]["expected"] == 8
    voices = {v["name"]: v for v in quick["tts"]["voices"]}
    assert set(voices) == {"coqui vits (test)", "espeak-ng", "piper joe-medium (starter)"}
    for v in voices.values():
        if "skipped" not in v:
            assert _is_stat(v["first_audio_s"]) and _is_stat(v["rtf"]) and v["audio_s"] > 0
            assert v["cold_first_audio_s"] > 0
    if (starter_dir() / "piper" / "en_US-joe-medium.onnx").is_file():  # the real voice was timed
        assert "skipped" not in voices["piper joe-medium (starter)"], voices["piper joe-medium (starter)"]
    turn = quick["turn"]
    for key in ("stt_s", "llm_first_token_s", "llm_first_sentence_s", "tts_first_audio_s", "total_s"):
        assert _is_stat(turn[key]), key
    assert turn["total_s"]["median"] >= turn["stt_s"]["median"]


def test_bad_arguments_are_config_errors(tmp_path, capsys):
    assert main(["bench", "--quick", "--repeat", "0", "--work-dir", str(tmp_path)]) == 2
    assert "--repeat" in capsys.readouterr().err


def test_missing_audio_file_is_reported(tmp_path, capsys):
    code = main(["bench", "--quick", "--stages", "stt", "--audio", str(tmp_path / "nope.wav"),
                 "--work-dir", str(tmp_path)])
    assert code != 0 and "nope.wav" in capsys.readouterr().err


def test_help_lists_bench(capsys):
    with pytest.raises(SystemExit):
        main(["bench", "--help"])
    assert "--quick" in capsys.readouterr().out


def test_default_audio_is_found_beside_the_repository():
    from assistant.bench.common import default_audio, shared_audio_dir

    assert shared_audio_dir() == Path(__file__).resolve().parents[3] / "shared" / "audio"
    if shared_audio_dir().is_dir():
        assert [p.name for p in default_audio()][0] == "jfk.flac"


def test_ct2_profile_script_sums_onednn_calls(tmp_path, capsys):
    """scripts/profile_ct2.py: one encoder pass and one decode, per oneDNN operation."""
    import runpy

    script = runpy.run_path(str(Path(__file__).resolve().parents[2] / "scripts" / "profile_ct2.py"))
    assert script["main"](["--size", "test", "--tokens", "4", "--work-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "encoder pass:" in out and "greedy decode, 4 tokens:" in out
    assert "1500x32:32x1500" in out  # the test model's encoder self-attention (2 heads of 32)
    lines = script["summarise"](["@@start x", "onednn_verbose,exec,cpu,gemm_api,,undef,,,,1x2:2x3,0.5",
                                 "onednn_verbose,exec,cpu,gemm_api,,undef,,,,1x2:2x3,0.25", "@@end 0.002"])
    assert lines == [("x", 0.002, {("gemm_api", "1x2:2x3"): [0.5, 0.25]})]
