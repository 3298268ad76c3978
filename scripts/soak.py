"""Soak test (not a unit test): N whole turns in one process, RSS every 10 turns, then the log checked.

    python3 scripts/soak.py --turns 200

Runs ``Assistant.respond`` on shared clips (../shared/audio: jfk.flac and the English FLEURS
clips, decoded once) in a loop, with the real starter models when they are laid out under
``$ASSISTANT_MODELS/starter`` (default ~/.cache/assistant/models/starter): Whisper base on
faster-whisper, SmolLM2-135M-Instruct (its GGUF loaded by transformers with ``gguf_file=`` and
saved once as a plain checkpoint the transformers backend reads), espeak-ng voices. Without
them it falls back to the tiny random test models (``--tiny``). Each reply is written to the
same output file. At the end: the turn log must hold exactly N records with unique ids.
Exit 0 when it does, 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SHARED = ROOT.parent / "shared" / "audio"


def starter_dir() -> Path:
    try:
        from assistant.models import starter_dir as found  # the installer's one place, when present

        return Path(found())
    except ImportError:
        return Path(os.environ.get("ASSISTANT_MODELS", "~/.cache/assistant/models")).expanduser() / "starter"


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def smollm_checkpoint(starter: Path, cache: Path) -> Path | None:
    """SmolLM2's GGUF as a transformers checkpoint directory (converted once, then reused)."""
    gguf = starter / "smollm2-135m-instruct" / "SmolLM2-135M-Instruct.Q4_1.gguf"
    if not gguf.exists():
        return None
    out = cache / "smollm2-135m-instruct-from-gguf"
    if not (out / "config.json").exists():
        from transformers import AutoModelForCausalLM, AutoTokenizer

        print(f"converting {gguf.name} with transformers gguf_file= → {out}", flush=True)
        tok = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
        model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name)
        from safetensors.torch import save_model

        part = out.with_name(out.name + ".part")
        part.mkdir(parents=True, exist_ok=True)
        tok.save_pretrained(part)
        # save_pretrained refuses a model loaded from GGUF ("quantized with gguf"), although its
        # weights are de-quantized to float32 by then: write config and weights directly.
        model.config.save_pretrained(part)
        model.generation_config.save_pretrained(part)
        save_model(model, str(part / "model.safetensors"))  # handles the tied embedding/lm_head
        part.rename(out)  # complete or absent, never half-written
    return out


def tiny_models(work: Path) -> list[str]:
    from assistant.bench.models.llm import build_causal_lm
    from assistant.bench.models.whisper import build_whisper_checkpoint

    whisper = build_whisper_checkpoint(work / "whisper.pt", size="test")
    llm = build_causal_lm(work / "llm", size="test", seed=0)
    return [f"stt.model={whisper}", "stt.sample_len=8", "stt.beam_size=null", f"llm.model={llm}",
            "llm.max_new_tokens=24", "llm.temperature=0", "guard.no_speech_threshold=1.0",
            "language.min_probability=0.0"]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--turns", type=int, default=200)
    ap.add_argument("--tiny", action="store_true", help="use the tiny random test models")
    ap.add_argument("--max-minutes", type=float, default=None,
                    help="stop after this long (the log is then checked against the turns run)")
    ap.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "assistant-soak")
    args = ap.parse_args()

    from assistant.audio.io import load_audio
    from assistant.modes.file import Assistant

    clips = [SHARED / "jfk.flac", *sorted((SHARED / "fleurs").glob("fleurs-en-00*.ogg"))[:5]]
    clips = [c for c in clips if c.exists()]
    if not clips:
        print(f"no clips under {SHARED}", file=sys.stderr)
        return 1
    audio = [(c.name, load_audio(c, 16000)) for c in clips]
    args.work.mkdir(parents=True, exist_ok=True)
    log = args.work / f"soak-{int(time.time())}.jsonl"
    common = [f"log.path={log}", "language.check_reply=false", "tts.voices={}", "tts.fallback={backend: espeak}",
              "conversation.max_turns=4"]
    starter = starter_dir()
    llm_dir = None if args.tiny else smollm_checkpoint(starter, args.work)
    whisper = starter / "whisper-base-ct2"
    if llm_dir and (whisper / "model.bin").exists():
        models = ["stt.backend=faster-whisper", f"stt.model={whisper}", "stt.device=cpu", "stt.compute_type=int8",
                  "stt.beam_size=null", "stt.language=en", "llm.backend=transformers", f"llm.model={llm_dir}",
                  "llm.device=cpu", "llm.dtype=float32", "llm.max_new_tokens=32", "llm.temperature=0"]
        label = ("starter models: Whisper base (faster-whisper int8, greedy, language fixed to en), "
                 "SmolLM2-135M-Instruct (from its GGUF, 32 new tokens), espeak-ng")
    else:
        models = tiny_models(args.work)
        label = "tiny random test models (starter models not found)"
    print(f"{label}\nclips: {', '.join(n for n, _ in audio)}\nlog: {log}", flush=True)

    bot = Assistant.from_config(None, [*models, *common])
    t0 = time.perf_counter()
    bot.load()
    print(f"loaded in {time.perf_counter() - t0:.1f} s, RSS {rss_mb():.0f} MB", flush=True)
    out = args.work / "reply.wav"
    statuses: Counter[str] = Counter()
    start = time.perf_counter()
    rss = []
    deadline = start + args.max_minutes * 60 if args.max_minutes else None
    done = 0
    for i in range(1, args.turns + 1):
        if deadline and time.perf_counter() > deadline:
            print(f"stopped after {args.max_minutes:g} min (--max-minutes)", flush=True)
            break
        done = i
        name, chunk = audio[(i - 1) % len(audio)]
        try:
            turn = bot.respond(chunk, output=out, source=name)
            statuses[turn.status] += 1
        except Exception as e:  # a failed turn is logged; the soak goes on and counts it
            statuses[f"failed: {type(e).__name__}"] += 1
        if i % 10 == 0 or i == args.turns or (deadline and time.perf_counter() > deadline):
            rss.append(rss_mb())
            elapsed = time.perf_counter() - start
            print(f"turn {i:4d}  RSS {rss[-1]:7.0f} MB  {elapsed / i:5.2f} s/turn  {dict(statuses)}", flush=True)

    records = [json.loads(line) for line in log.read_text().splitlines()]
    ids = [r["id"] for r in records]
    ok = len(records) == done and len(set(ids)) == len(ids)
    print(f"log: {len(records)} records for {done} turns, {len(set(ids))} unique ids → "
          f"{'OK' if ok else 'FAILED'}")
    if rss:
        print(f"RSS first/last/max: {rss[0]:.0f} / {rss[-1]:.0f} / {max(rss):.0f} MB; "
              f"growth after turn 10: {rss[-1] - rss[0]:+.0f} MB")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
