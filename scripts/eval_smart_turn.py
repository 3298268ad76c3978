#!/usr/bin/env python3
"""Smart Turn on the shared FLEURS clips: how often a finished sentence ends the turn early, and
how often the same sentence cut mid-word (60 % of its speech) wrongly does; per-decision time.

    python3 scripts/eval_smart_turn.py [--languages de,en,es,fr,pt] [--threads 1]
    python3 scripts/eval_smart_turn.py --splits   # whole English clips + jfk through the endpointer:
                                                  # how many are cut into several turns, per setting
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from assistant.audio.io import load_audio  # noqa: E402
from assistant.audio.smart_turn import SmartTurn  # noqa: E402
from assistant.audio.vad import FRAME, make_vad  # noqa: E402

FLEURS = ROOT.parent / "shared" / "audio" / "fleurs"
PAUSE = np.zeros(3200, np.float32)  # the 200 ms pause after which the endpointer asks


def splits() -> None:
    from assistant.audio.endpointing import make_endpointer
    from assistant.audio.settings import AudioSettings
    from assistant.core.types import Utterance

    clips = sorted(FLEURS.glob("fleurs-en-*.ogg")) + [FLEURS.parent / "jfk.flac"]
    audios = [np.concatenate([load_audio(c, 16000).samples, np.zeros(40000, np.float32)]) for c in clips]
    for label, kw in [("silence 500 ms", {}), ("smart-turn 200 ms, 0.5", {"end_of_turn": "smart-turn"}),
                      ("smart-turn 300 ms, 0.5", {"end_of_turn": "smart-turn", "smart_turn_silence_ms": 300}),
                      ("smart-turn 200 ms, 0.8", {"end_of_turn": "smart-turn", "smart_turn_threshold": 0.8})]:
        ep = make_endpointer(AudioSettings(**kw))
        parts = []
        for x in audios:
            ep.reset()
            events = [e for i in range(0, len(x), 512) for e in ep.feed(x[i:i + 512])] + ep.flush()
            parts.append(sum(isinstance(e, Utterance) for e in events))
        print(json.dumps({"setting": label, "split": sum(p > 1 for p in parts), "of": len(parts),
                          "turns_per_clip": parts}), flush=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--languages", default="de,en,es,fr,pt")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--splits", action="store_true")
    a = ap.parse_args()
    if a.splits:
        splits()
        return 0
    st = SmartTurn(threads=a.threads).load()
    vad = make_vad("silero")
    out, times = {}, []
    for lang in a.languages.split(","):
        complete = cut = n = 0
        for clip in sorted(FLEURS.glob(f"fleurs-{lang}-*.ogg")):
            x = load_audio(clip, 16000).samples
            vad.reset()
            flags = np.array([vad.speech_probability(x[i:i + FRAME]) > 0.5
                              for i in range(0, len(x) - FRAME + 1, FRAME)])
            idx = np.nonzero(flags)[0]
            start, end = max(0, idx[0] * FRAME - 4800), (idx[-1] + 1) * FRAME
            k = int(idx[int(len(idx) * 0.6)])
            while k + 4 < len(flags) and not flags[k - 3:k + 4].all():
                k += 1
            complete += st.complete(np.concatenate([x[start:end], PAUSE]))
            times.append(st.last_seconds)
            cut += st.complete(np.concatenate([x[start:k * FRAME], PAUSE]))
            times.append(st.last_seconds)
            n += 1
        out[lang] = {"clips": n, "complete_ends_early": complete, "cut_ends_early": cut}
    out["decision_ms"] = {"median": round(statistics.median(times) * 1000, 1),
                          "p95": round(float(np.percentile(times, 95)) * 1000, 1), "n": len(times)}
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
