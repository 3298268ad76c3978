#!/usr/bin/env python3
"""Voice-to-voice latency as the user hears it: last speech sample → first reply sound at the speaker.

    python3 scripts/bench_speaker.py [--turns 20] [--english] [--quick] [--voice espeak|piper]
                                     [--llm ctranslate2|onnxruntime-genai] [--llm-gguf FILE]
                                     [--set audio.end_of_turn=smart-turn ...] [--json out.json]

Default (the realistic run): configs/cpu.yaml as a user runs it offline (language detected,
the reply-language check on, its reply length, temperature and history limits), the starter
fallback choosing the models as for a user (Whisper base, Qwen2.5-Coder-0.5B through the shipped engine
or --llm / --llm-gguf, Piper joe for English, Pico for de/es/fr, espeak-ng for pt), questions cycling through FLEURS
clips in five languages in one conversation, so the history grows over all --turns.
--english: the earlier, easiest run kept for continuity (English clips, language fixed, reply
check off, 48 greedy tokens, no history limit change).

A private PulseAudio server (tests/support/pulse.py) stands in for the sound card. Recorded questions
(jfk + FLEURS English, trimmed to their speech plus 100 ms) are played in real time into a
combine sink whose two outputs are the virtual microphone's feed and the virtual speaker, so one
recording of the speaker's monitor holds the question *and* the reply on one clock, with no
alignment between recorders to trust. `assistant chat` runs as the user runs it (its own
process, real models from the starter pack where present: faster-whisper on whisper-base-ct2,
SmolLM2 through CTranslate2, espeak-ng), and its turn log gives the breakdown. Per turn:

  device_ms   speech end (Silero VAD on the clip) → first sample above -40 dBFS at the speaker
  log_ms      the turn log's first_audio: end of speech at the microphone (PortAudio's capture
              time) → first reply sound at the speaker (PortAudio's DAC time)
  device - log: what the two disagree by (limit 50 ms; the VAD's 32 ms frames are most of it)

--quick: 2 short turns with the smallest set-up, for the test suite (valid JSON, the fields, the
agreement check). Timings on a busy machine mean little: say so when you report them.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from assistant.audio.io import load_audio  # noqa: E402
from assistant.audio.vad import FRAME, make_vad  # noqa: E402
from assistant.core.hub import starter_dir  # noqa: E402
from tests.support.pulse import MIC_SINK, SPEAKER, start_pulse  # noqa: E402

SHARED = ROOT.parent / "shared" / "audio"
RATE = 16000
THRESHOLD = 10 ** (-40 / 20)  # -40 dBFS: "non-silent"
AGREE_MS = 50.0


LANGUAGES = ("en", "de", "es", "fr", "pt")


def clips(quick: bool, english: bool = True) -> list[Path]:
    if english or quick:
        names = [f"fleurs/fleurs-en-00{i}.ogg" for i in (3, 4, 7, 0, 1, 2, 5, 6, 8, 9)] + ["jfk.flac"]
        found = [SHARED / n for n in names if (SHARED / n).is_file()]
        return found[:2] if quick else found  # quick: the two shortest, single-clause questions
    # one clip of each language in turn, so every language follows every other in the history
    return [SHARED / "fleurs" / f"fleurs-{lang}-00{i}.ogg" for i in range(10) for lang in LANGUAGES
            if (SHARED / "fleurs" / f"fleurs-{lang}-00{i}.ogg").is_file()]


def language_of(path: Path) -> str:
    return path.name.split("-")[1] if path.name.startswith("fleurs-") else "en"


def speech_only(path: Path) -> np.ndarray:
    """The clip from 100 ms before its first to 100 ms after its last speech frame (Silero)."""
    x = load_audio(path, RATE).samples
    vad = make_vad("silero")
    flags = [vad.speech_probability(x[i:i + FRAME]) > 0.5 for i in range(0, len(x) - FRAME + 1, FRAME)]
    idx = np.nonzero(flags)[0]
    a, b = max(0, idx[0] * FRAME - 1600), min(len(x), (idx[-1] + 1) * FRAME + 1600)
    y = x[a:b].copy()
    y[-320:] *= np.linspace(1, 0, 320, dtype=np.float32)  # no click at the cut
    return y


def realistic_config(log: Path, llm: str | None, gguf: Path | None) -> tuple[dict, list[str]]:
    """configs/cpu.yaml as a user runs it on this machine: nothing of it changed but the log and
    the benchmark's own switches, so the starter fallback decides the models exactly as for a user
    (run offline: Whisper base, Qwen2.5-Coder-0.5B through the shipped LLM engine, Piper joe for
    English, Pico for de/es/fr/it, espeak-ng for pt). ``llm`` swaps in another LLM engine on the
    same model (the starter fallback resolves it the same way); ``gguf`` another model."""
    import yaml

    cfg = yaml.safe_load((ROOT / "configs" / "cpu.yaml").read_text())
    used = ["configs/cpu.yaml (the starter fallback in place of missing hub models)"]
    shipped = cfg["llm"]
    if (llm is not None and llm != shipped["backend"]) or gguf is not None:
        cfg["llm"] = {"backend": llm or shipped["backend"], "model": shipped["model"],
                      "max_new_tokens": shipped.get("max_new_tokens", 120),
                      "temperature": shipped.get("temperature", 0.7), "warmup": True}
        if gguf is not None:
            cfg["llm"].update(model=str(gguf.parent), gguf_file=gguf.name)
            used.append(str(gguf))
    cfg["log"] = {"path": str(log)}
    cfg.setdefault("audio", {}).update(cues=False, barge_in=False)
    cfg["commands"] = {"still_thinking_s": 0}  # the reminder would be the first sound of a slow turn
    return cfg, used


def write_config(path: Path, log: Path, overrides: list[str], voice: str = "espeak", english: bool = True,
                 llm: str | None = None, gguf: Path | None = None) -> list[str]:
    """The chat config (YAML) and the starter models it uses. english: the fixed-language run
    (``voice``: espeak, or piper with the starter pack's en_US-joe-medium, warmed at start-up);
    else the realistic one (``realistic_config``)."""
    if not english:
        import yaml

        cfg, used = realistic_config(log, llm, gguf)
        path.write_text(yaml.safe_dump(cfg))
        return used
    starter = starter_dir()
    used = []
    cfg: dict = {"stt": {"backend": "faster-whisper", "model": "base", "beam_size": None, "warmup": True,
                         "language": "en"},
                 "llm": {"backend": "ctranslate2", "max_new_tokens": 48, "temperature": 0.0, "warmup": True},
                 "tts": {"voices": {"en": {"backend": "espeak"}}},
                 "language": {"languages": ["en"], "check_reply": False},
                 "log": {"path": str(log)},
                 "audio": {"cues": False, "barge_in": False},
                 # the spoken "still thinking" reminder would be the first sound of a slow turn:
                 # the benchmark times the reply
                 "commands": {"still_thinking_s": 0}}
    whisper = starter / "whisper-base-ct2"
    if (whisper / "model.bin").is_file():
        cfg["stt"]["model"] = str(whisper)
        used.append(str(whisper))
    smol = starter / "smollm2-135m-instruct"
    gguf = next(smol.glob("*.gguf"), None) if smol.is_dir() else None
    if gguf is not None:
        cfg["llm"].update(model=str(smol), gguf_file=gguf.name)
        used.append(str(gguf))
    if voice == "piper":
        joe = starter / "piper" / "en_US-joe-medium.onnx"
        if not joe.is_file():
            raise SystemExit(f"--voice piper needs the starter pack's Piper voice: {joe} is missing "
                             "(assistant models install starter)")
        cfg["tts"]["voices"]["en"] = {"backend": "piper", "model": str(joe), "warmup": True}
        used.append(str(joe))
    import yaml

    path.write_text(yaml.safe_dump(cfg))
    return used


def _stats(values: list[float]) -> dict:
    if not values:
        return {"n": 0}
    v = sorted(values)
    return {"p50": round(statistics.median(v), 1), "p95": round(float(np.percentile(v, 95)), 1),
            "min": round(v[0], 1), "max": round(v[-1], 1), "n": len(v)}


def _lines(log: Path) -> int:
    return len(log.read_text().splitlines()) if log.exists() else 0


def _wait_idle(chat: subprocess.Popen, log: Path, out: Path, n_before: int, deadline: float) -> None:
    """Until the question's turns are logged (the log line comes after the reply was played) and
    the assistant has been listening for a second."""
    quiet_since = None
    while chat.poll() is None and time.monotonic() < deadline:
        idle = _lines(log) > n_before and out.read_text(errors="replace").rstrip().endswith("[listening]")
        if not idle:
            quiet_since = None
        elif quiet_since is None:
            quiet_since = time.monotonic()
        elif time.monotonic() - quiet_since > 1.0:
            return
        time.sleep(0.1)


def run(turns: int, quick: bool, overrides: list[str], timeout: float = 600.0, voice: str = "espeak",
        english: bool = True, llm: str | None = None, gguf: Path | None = None) -> dict:
    questions = clips(quick, english)
    if not questions:
        return {"skipped": f"no recorded questions under {SHARED}"}
    tmp = Path(tempfile.mkdtemp(prefix="bench-speaker-"))
    env, why = start_pulse(tmp / "pulse")
    if env is None:
        return {"skipped": why}
    chat = None
    try:
        # One sink feeding both the microphone and the speaker: the question lands in the speaker's
        # recording on the same clock as the reply.
        env.pactl("load-module", "module-combine-sink", "sink_name=vboth", f"slaves={MIC_SINK},{SPEAKER}",
                  f"rate={RATE}", "channels=1", "adjust_time=0")
        log, cfg = tmp / "turns.jsonl", tmp / "chat.yaml"
        models = write_config(cfg, log, overrides, voice, english, llm, gguf)
        cmd = [sys.executable, "-m", "assistant", "chat", "--config", str(cfg), "--no-greeting"]
        for o in overrides:
            cmd += ["--set", o]
        penv = env.subprocess_env()
        penv.update(PULSE_SINK=SPEAKER, PULSE_SOURCE="vmic", PYTHONUNBUFFERED="1", HF_HUB_OFFLINE="1")
        out_path = tmp / "chat.out"
        chat = subprocess.Popen(cmd, cwd=ROOT, env=penv, stdout=out_path.open("w"), stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout * max(1, turns / 20)
        while "listening on" not in out_path.read_text(errors="replace"):
            if chat.poll() is not None or time.monotonic() > deadline:
                return {"error": "assistant chat did not start", "output": out_path.read_text()[-2000:]}
            time.sleep(0.2)
        time.sleep(1.0)
        rec = env.start_recording_speaker()
        t_rec = time.monotonic()
        # (seconds into the recording when pacat started, samples, turn-log lines before it, clip)
        played: list[tuple[float, int, int, np.ndarray]] = []
        languages: list[str] = []
        env.mic_sink = "vboth"
        for i in range(turns):
            q = speech_only(questions[i % len(questions)])
            languages.append(language_of(questions[i % len(questions)]))
            n_before = _lines(log)
            played.append((time.monotonic() - t_rec, len(q), n_before, q))
            env.play_into_mic(q).wait()
            _wait_idle(chat, log, out_path, n_before, deadline)
        audio = rec.stop()
        np.save(tmp / "speaker.npy", audio)
    finally:
        if chat is not None and chat.poll() is None:
            chat.terminate()
            try:
                chat.wait(timeout=20)
            except subprocess.TimeoutExpired:
                chat.kill()
        env.stop()
    records = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    result = analyse(audio, played, records, models, overrides, quick, languages)
    result["recording"] = str(tmp / "speaker.npy")
    return result


def analyse(audio: np.ndarray, played: list[tuple[float, int, int, np.ndarray]], records: list[dict], models: list[str],
            overrides: list[str], quick: bool, languages: list[str] | None = None) -> dict:
    from scipy.signal import correlate

    loud = np.abs(audio) > THRESHOLD
    per_turn = []
    for i, (start_s, n, first_record, q) in enumerate(played):
        # the question in the recording: where the clip correlates best, from about when pacat started
        # (onset within 0.3 s before to 1 s after pacat started: a wider window reaches into the
        # reply, whose loud start can outweigh a quiet question once replies come within ~2 s)
        s0 = int(max(0.0, start_s - 0.3) * RATE)
        window = audio[s0:s0 + n + int(1.3 * RATE)]
        if len(window) < n:
            continue
        onset = s0 + int(np.argmax(correlate(window, q, mode="valid", method="fft")))
        q_end = onset + n  # trimmed clip: it ends 100 ms after its last speech frame
        speech_end = q_end - 1600
        stop = int(played[i + 1][0] * RATE) if i + 1 < len(played) else len(audio)
        after = loud[q_end:stop]
        reply = q_end + int(np.argmax(after)) if after.any() else None
        # the turns this question made: more than one when a pause inside it ended a turn
        # (then the first part's reply may already be playing when the question ends)
        group = records[first_record:played[i + 1][2] if i + 1 < len(played) else len(records)]
        rec = group[-1] if group else {}
        t = rec.get("timings_ms", {})
        row = {"turn": i, "language": languages[i] if languages else None, "parts": len(group),
               "status": rec.get("status"), "heard_language": rec.get("language"),
               "user_text": " | ".join(str(g.get("transcript") or "") for g in group),
               "device_ms": round((reply - speech_end) / RATE * 1000, 1) if reply is not None else None,
               "log_first_audio_ms": round(t["first_audio"], 1) if "first_audio" in t else None,
               "timings_ms": {k: round(v, 1) for k, v in t.items()}}
        if row["parts"] == 1 and row["device_ms"] is not None and row["log_first_audio_ms"] is not None:
            row["device_minus_log_ms"] = round(row["device_ms"] - row["log_first_audio_ms"], 1)
        per_turn.append(row)
    whole = [r for r in per_turn if r["parts"] == 1]
    device = [r["device_ms"] for r in whole if r["device_ms"] is not None]
    diffs = [r["device_minus_log_ms"] for r in per_turn if "device_minus_log_ms" in r]
    return {
        "quick": quick, "models": models, "overrides": overrides, "turns": len(played),
        "answered": len(device), "split_questions": len(per_turn) - len(whole), "threshold_dbfs": -40,
        "device_ms": _stats(device), "log_first_audio_ms": _stats([r["log_first_audio_ms"] for r in whole
                                                                     if r["log_first_audio_ms"] is not None]),
        # endpointing: speech end → utterance handed on; stt; llm_first_token: to the first text;
        # tts_first_audio: synthesis of the first chunk (the turn log's own keys)
        "breakdown_ms": {k: _stats([r["timings_ms"][k] for r in whole if k in r["timings_ms"]])
                         for k in sorted({k for r in whole for k in r["timings_ms"]})},
        "device_ms_by_language": {lang: _stats([r["device_ms"] for r in whole if r["device_ms"] is not None
                                                and r["language"] == lang])
                                  for lang in sorted({r["language"] for r in whole if r["language"]})},
        "agreement": {"limit_ms": AGREE_MS, "device_minus_log_ms": _stats(diffs),
                      "within_limit": bool(diffs) and all(abs(d) <= AGREE_MS for d in diffs)},
        "per_turn": per_turn,
        "note": "wall-clock on a shared machine: re-measure on a quiet one",
    }


def shipped_llm() -> str:
    import yaml

    return yaml.safe_load((ROOT / "configs" / "cpu.yaml").read_text())["llm"]["backend"]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--turns", type=int, default=20)
    ap.add_argument("--quick", action="store_true", help="2 short turns (the test suite's mode)")
    ap.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    ap.add_argument("--voice", choices=("espeak", "piper"), default="espeak",
                    help="the English voice: espeak-ng, or the starter pack's Piper joe-medium")
    ap.add_argument("--english", action="store_true",
                    help="the earlier fixed-language run: English clips, language fixed, reply check off, 48 tokens")
    ap.add_argument("--llm", choices=("ctranslate2", "onnxruntime-genai"), default=None,
                    help="the LLM backend of the realistic run (default: configs/cpu.yaml's; "
                         "onnxruntime-genai keeps the KV cache)")
    ap.add_argument("--llm-gguf", type=Path,
                    help="a GGUF chat model for the realistic run (default: the starter's Qwen)")
    ap.add_argument("--json", type=Path)
    a = ap.parse_args(argv)
    if a.llm_gguf is not None and not a.llm_gguf.is_file():
        print(f"error: --llm-gguf {a.llm_gguf}: no such file", file=sys.stderr)
        return 2
    english = a.english or a.quick
    result = run(2 if a.quick else a.turns, a.quick, a.overrides, voice=a.voice, english=english,
                 llm=a.llm, gguf=a.llm_gguf)
    result["run"] = "english-fixed" if english else "realistic-multilingual"
    result["voice"] = a.voice if english else "piper en + espeak"
    result["llm"] = "ctranslate2" if english else (a.llm or shipped_llm())
    result["load_average"] = [round(x, 2) for x in os.getloadavg()]
    text = json.dumps(result, indent=1)
    if a.json:
        a.json.write_text(text)
    print(text)
    return 0 if "error" not in result else 1


if __name__ == "__main__":
    raise SystemExit(main())
