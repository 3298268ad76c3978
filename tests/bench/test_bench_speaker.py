"""scripts/bench_speaker.py --quick: the whole turn at a virtual speaker, real starter models."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from assistant.core.hub import starter_dir
from tests.support.shared import shared_audio

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
@pytest.mark.device
@pytest.mark.timeout(900)
def test_quick_mode_reports_latency_at_the_speaker_and_agrees_with_the_log():
    shared_audio("fleurs", "fleurs-en-003.ogg")
    starter = starter_dir()
    for need in ("whisper-base-ct2/model.bin", "smollm2-135m-instruct"):
        if not (starter / need).exists():
            pytest.skip(f"starter model not installed: {starter / need}")
    out = subprocess.run([sys.executable, str(ROOT / "scripts" / "bench_latency.py"), "--speaker", "--quick"],
                         cwd=ROOT, capture_output=True, text=True, timeout=880)
    result = json.loads(out.stdout)
    if "skipped" in result:
        pytest.skip(result["skipped"])
    assert out.returncode == 0, out.stdout[-2000:]
    for key in ("device_ms", "log_first_audio_ms", "breakdown_ms", "agreement", "per_turn", "models"):
        assert key in result
    assert result["turns"] == 2 and result["answered"] >= 1
    assert {"p50", "p95", "n"} <= set(result["device_ms"])
    assert {"endpointing", "stt", "llm_first_token", "tts_first_audio", "first_audio"} <= set(result["breakdown_ms"])
    # the reply is heard after the question ends, never during it
    assert all(r["device_ms"] > 0 for r in result["per_turn"] if r["device_ms"] is not None)
    agreement = result["agreement"]
    diffs = [r["device_minus_log_ms"] for r in result["per_turn"] if "device_minus_log_ms" in r]
    assert diffs and agreement["device_minus_log_ms"]["n"] == len(diffs)
    # causality: the speaker cannot sound before the loop handed it the audio
    assert min(diffs) > -agreement["limit_ms"], agreement
    # Agreement: a timed figure, so the test only checks it grossly (the log must account for the
    # device buffers: before it did, the median gap was ~200 ms); the 50 ms target is the
    # benchmark's to report (`agreement.within_limit`, docs/benchmarks.md "Latency at the speaker").
    assert abs(agreement["device_minus_log_ms"]["p50"]) < 150, agreement


@pytest.mark.parametrize("llm", ["ctranslate2", "onnxruntime-genai"])
def test_realistic_run_is_the_shipped_cpu_config_in_five_languages(tmp_path, llm):
    """The default run: configs/cpu.yaml as shipped (language detected, reply check on, its reply
    length and history), questions cycling through five languages; the config validates."""
    sys.path.insert(0, str(ROOT / "scripts"))
    import bench_speaker
    import yaml

    from assistant.config import load_config

    shipped = load_config(ROOT / "configs" / "cpu.yaml")
    path = tmp_path / "chat.yaml"
    bench_speaker.write_config(path, tmp_path / "turns.jsonl", [], english=False, llm=llm)
    config = load_config(path)
    assert config.llm.backend == llm
    assert config.stt.language in (None, "auto") and config.language.check_reply
    assert config.llm.max_new_tokens == shipped.llm.max_new_tokens
    assert config.conversation == shipped.conversation
    assert config.language == shipped.language and config.stt == shipped.stt and config.tts == shipped.tts
    assert yaml.safe_load(path.read_text())["log"]["path"].endswith("turns.jsonl")
    questions = bench_speaker.clips(quick=False, english=False)
    if questions:
        first = [bench_speaker.language_of(q) for q in questions[:5]]
        assert sorted(first) == ["de", "en", "es", "fr", "pt"]  # every language in every five turns
    english = bench_speaker.clips(quick=False, english=True)
    assert all(bench_speaker.language_of(q) == "en" for q in english)
