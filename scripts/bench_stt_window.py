#!/usr/bin/env python3
"""STT time per question with real Whisper base: the 30 s encoder window against the utterance's
length (``stt.audio_ctx``), per backend and thread count, on the same clips in one run.

    python3 scripts/bench_stt_window.py [--repeat 3] [--threads 1 2] [--backends faster-whisper whisper]
                                        [--json out.json]

The clips are the questions ``scripts/bench_speaker.py`` plays (FLEURS English + jfk), trimmed
the same way to their speech plus 100 ms, with the language fixed (as the speaker benchmark).
Every set-up transcribes every clip ``--repeat`` times in turn (interleaved, so a busy spell of the
machine hits all set-ups alike); the table gives the median and p95 over clips of each clip's best
time, and each set-up's median as a ratio to the first set-up's. Needs the starter pack
(``assistant models install starter``). Word error rates for the same choice are measured with
``assistant eval stt`` (docs/quality.md, "Short utterances in Whisper").
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from assistant.core.hub import starter_dir  # noqa: E402
from assistant.core.types import AudioChunk  # noqa: E402


MARGIN = {"s": 2.0}


def build(backend: str, ctx: str, threads: int):
    starter = starter_dir()
    if backend == "faster-whisper":
        from assistant.stt.faster_whisper import FasterWhisperOptions, FasterWhisperSTT

        return FasterWhisperSTT(FasterWhisperOptions(
            model=str(starter / "whisper-base-ct2"), device="cpu", compute_type="int8", beam_size=None,
            cpu_threads=threads, audio_ctx=ctx, audio_ctx_margin_s=MARGIN["s"], warmup=True))
    import torch

    from assistant.stt.whisper import WhisperOptions, WhisperSTT

    torch.set_num_threads(threads)
    return WhisperSTT(WhisperOptions(model=str(starter / "whisper-base-openai" / "base.pt"), device="cpu",
                                     beam_size=None, audio_ctx=ctx, audio_ctx_margin_s=MARGIN["s"],
                                     warmup=True))


def main(argv: list[str] | None = None) -> int:
    from bench_speaker import clips, speech_only

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--backends", nargs="+", default=["faster-whisper", "whisper"],
                    choices=["faster-whisper", "whisper"])
    ap.add_argument("--margin", type=float, default=2.0, help="stt.audio_ctx_margin_s (seconds)")
    ap.add_argument("--json", type=Path)
    a = ap.parse_args(argv)
    MARGIN["s"] = a.margin

    questions = [AudioChunk(speech_only(p), 16000) for p in clips(False)]
    setups = [(b, ctx, t) for b in a.backends for t in a.threads for ctx in ("full", "utterance")]
    models = {}
    for s in setups:
        models[s] = build(*s)
        models[s].load()
    best: dict[tuple, list[float]] = {s: [float("inf")] * len(questions) for s in setups}
    texts: dict[tuple, list[str]] = {s: [""] * len(questions) for s in setups}
    for _ in range(a.repeat):
        for i, q in enumerate(questions):
            for s in setups:
                if s[0] == "whisper":
                    import torch

                    torch.set_num_threads(s[2])
                t0 = time.perf_counter()
                texts[s][i] = models[s].transcribe(q, language="en").text
                best[s][i] = min(best[s][i], time.perf_counter() - t0)
                print(f"  clip {i} {s}: {time.perf_counter() - t0:.2f} s", file=sys.stderr, flush=True)
    rows = []
    base = statistics.median(best[setups[0]])
    for s in setups:
        v = sorted(best[s])
        med = statistics.median(v)
        rows.append({"backend": s[0], "audio_ctx": s[1], "threads": s[2], "median_s": round(med, 3),
                     "p95_s": round(float(np.percentile(v, 95)), 3), "vs_first": round(base / med, 2),
                     "same_text_as_full": sum(t == u for t, u in zip(texts[s], texts[(s[0], "full", s[2])]))})
    result = {"clips": len(questions), "margin_s": a.margin, "seconds": [round(q.duration, 2) for q in questions],
              "repeat": a.repeat, "rows": rows}
    print(f"{len(questions)} clips, {min(result['seconds'])}-{max(result['seconds'])} s, best of {a.repeat}")
    print("| backend | audio_ctx | threads | median | p95 | speed vs first row | same text as full |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['backend']} | {r['audio_ctx']} | {r['threads']} | {r['median_s']:.2f} s | {r['p95_s']:.2f} s "
              f"| {r['vs_first']:.2f}× | {r['same_text_as_full']}/{len(questions)} |")
    if a.json:
        a.json.write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
