"""Every shipped config answers offline on the starter pack (issue 17, part 6).

`assistant respond` runs as a user runs it, in a subprocess, with the model hub unreachable
(HF_HUB_OFFLINE=1: no hub is probed or downloaded from). A config whose models are local must
exit 0 with a spoken reply file, whatever backends it names (the starter fallback substitutes
them); a config that names a remote server (backend openai) must fail with the documented clear
message and exit 5, since no server runs here. Skips where the starter pack is not installed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from assistant.config import load_config
from tests.support.shared import shared_audio, starter_model

REPO = Path(__file__).resolve().parents[2]
CONFIGS = sorted((REPO / "configs").glob("*.yaml"))


def _remote(config_path: Path) -> list[str]:
    cfg = load_config(config_path)
    return [stage for stage in ("stt", "llm") if getattr(cfg, stage).backend == "openai"]


@pytest.mark.slow
@pytest.mark.parametrize("config_path", CONFIGS, ids=[p.stem for p in CONFIGS])
def test_shipped_config_answers_offline_on_the_starter_pack(config_path, tmp_path):
    starter_model("whisper-base-ct2", "model.bin")
    clip = shared_audio("fleurs", "fleurs-es-000.ogg")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(REPO),
           "HOME": os.environ.get("HOME", str(tmp_path))}
    out = tmp_path / "reply.wav"
    proc = subprocess.run([sys.executable, "-m", "assistant", "respond", str(clip), "-o", str(out), "--json",
                           "-c", str(config_path), "--set", f"log.path={tmp_path / 'turns.jsonl'}"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900)
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    remote = _remote(config_path)
    if remote:
        assert proc.returncode == 5, proc.stderr[-2000:]
        assert "cannot reach the" in proc.stderr and "server" in proc.stderr and "is it running" in proc.stderr
        assert not out.exists()
        return
    assert proc.returncode == 0, proc.stderr[-3000:]
    turn = json.loads(proc.stdout)
    assert turn["status"] == "ok" and turn["language"] == "es" and turn["reply"].strip()
    assert out.is_file() and out.stat().st_size > 16000  # half a second of 16-bit audio at least
    assert turn["reply_audio_seconds"] > 0.5
