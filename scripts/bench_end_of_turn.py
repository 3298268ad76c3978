#!/usr/bin/env python3
"""End of turn on the shared FLEURS clips, per policy and language: how long after the speech
ends the turn ends (p50/p95), and how many sentences were split (each clip is one sentence, so
any end before its last word is a split).

Each language is one session: its clips in order, each followed by ``--tail`` seconds of its own
room tone (the clip's audio before the speech starts, repeated; zeros when it has none), through
the real endpointer (Silero VAD, the Smart Turn model) as ``make_endpointer`` builds it. Waits are
on the stream's clock: the model's compute time is reported apart (``decision_ms``).

    python3 scripts/bench_end_of_turn.py                      # silence, smart-turn, combined; all 50 clips
    python3 scripts/bench_end_of_turn.py --half odd --json eot.json
    python3 scripts/bench_end_of_turn.py --tune [--quick]     # grid of combined settings on the even
                                                              # clips (replayed VAD), best first
    python3 scripts/bench_end_of_turn.py --set combined_short_ms=400 --policies combined
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from assistant.audio.endpointing import make_endpointer  # noqa: E402
from assistant.audio.io import load_audio  # noqa: E402
from assistant.audio.settings import AudioSettings  # noqa: E402
from assistant.audio.vad import FRAME, make_vad  # noqa: E402
from assistant.core.types import Utterance  # noqa: E402

FLEURS = ROOT.parent / "shared" / "audio" / "fleurs"
LANGUAGES = ["de", "en", "es", "fr", "pt"]
POLICIES: dict[str, dict[str, Any]] = {
    "silence": {"end_of_turn": "silence"},
    "smart-turn": {"end_of_turn": "smart-turn"},
    "combined": {"end_of_turn": "combined"},
}


def clips(language: str, half: str) -> list[Path]:
    found = sorted(FLEURS.glob(f"fleurs-{language}-*.ogg"))
    return found if half == "all" else found[0 if half == "even" else 1::2]


def room_tone(x: np.ndarray, seconds: float) -> np.ndarray:
    """``seconds`` of the clip's own background: its audio before the speech, repeated."""
    vad = make_vad("silero")
    n = 0
    while n + FRAME <= len(x) and vad.speech_probability(x[n:n + FRAME]) < 0.3:
        n += FRAME
    lead = x[:max(0, n - 2 * FRAME)]  # keep clear of the onset
    want = int(seconds * 16000)
    if len(lead) < FRAME:
        return np.zeros(want, np.float32)
    return np.resize(lead, want).astype(np.float32)


class CachedModel:
    """Smart Turn's probability, remembered per audio (the policies and the grid ask the same)."""

    def __init__(self) -> None:
        from assistant.audio.smart_turn import SmartTurn

        self.model = SmartTurn().load()
        self.cache: dict[bytes, float] = {}
        self.times: list[float] = []

    def probability(self, audio: np.ndarray) -> float:
        key = hashlib.blake2b(np.ascontiguousarray(audio).tobytes(), digest_size=16).digest()
        if key not in self.cache:
            self.cache[key] = self.model.probability(audio)
            self.times.append(self.model.last_seconds or 0.0)
        return self.cache[key]

    def complete(self, audio: np.ndarray) -> bool:
        return self.probability(audio) > self.model.threshold


class ReplayVAD:
    """The Silero probabilities of a whole session, computed once, replayed frame by frame (the
    endpointer's resets after each turn are ignored: close enough to choose settings by)."""

    sample_rate, frame_size = 16000, FRAME

    def __init__(self, probs: list[float]) -> None:
        self.probs, self.i = probs, 0

    def speech_probability(self, frame: np.ndarray) -> float:
        self.i += 1
        return self.probs[self.i - 1]

    def reset(self) -> None:
        pass


def session_stream(language: str, half: str, tail: float) -> tuple[np.ndarray, list[tuple[str, int, int]]]:
    """The session's audio and, per clip, (name, first sample, sample where the clip ends)."""
    parts, spans, at = [], [], 0
    for clip in clips(language, half):
        x = load_audio(clip, 16000).samples.astype(np.float32)
        parts += [x, room_tone(x, tail)]
        spans.append((clip.stem, at, at + len(x)))
        at += len(x) + int(tail * 16000)
    return np.concatenate(parts), spans


def run_session(settings: AudioSettings, stream: np.ndarray, spans: list[tuple[str, int, int]],
                model: CachedModel | None, vad: Any = None) -> list[dict[str, Any]]:
    import assistant.audio.smart_turn as smart_turn

    if model is not None:  # make_endpointer loads SmartTurn: hand it the cached one
        real = smart_turn.SmartTurn

        class _Cached:
            def __init__(self, *a: Any, **k: Any) -> None:
                pass

            def load(self) -> CachedModel:
                return model

        smart_turn.SmartTurn = _Cached  # type: ignore[misc, assignment]
    try:
        clock = [0.0]
        ep = make_endpointer(settings, vad=vad, clock=lambda: clock[0])
    finally:
        if model is not None:
            smart_turn.SmartTurn = real  # type: ignore[misc]
    ends: list[tuple[float, float]] = []  # (emitted at, speech ended at), stream seconds
    for i in range(0, len(stream), FRAME):
        clock[0] = (i + FRAME) / 16000
        for e in ep.feed(stream[i:i + FRAME], captured_until=clock[0]):
            if isinstance(e, Utterance):
                ends.append((ep.offset, e.ended_at))
    for e in ep.flush():
        if isinstance(e, Utterance):
            ends.append((ep.offset, e.ended_at))
    out = []
    for name, a, b in spans:
        mine = [(t, s) for t, s in ends if a / 16000 < s <= b / 16000 + 0.05]
        out.append({"clip": name, "turns": len(mine), "wait_s": round(mine[-1][0] - mine[-1][1], 3) if mine else None})
    return out


def summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    waits = [r["wait_s"] for r in rows if r["wait_s"] is not None]
    return {"clips": len(rows), "split": sum(r["turns"] > 1 for r in rows),
            "wait_p50_ms": round(statistics.median(waits) * 1000) if waits else None,
            "wait_p95_ms": round(float(np.percentile(waits, 95)) * 1000) if waits else None}


def settings_for(policy: str, extra: dict[str, Any]) -> AudioSettings:
    return AudioSettings(**(POLICIES[policy] | (extra if policy == "combined" else {})))


def tune(half: str, tail: float, model: CachedModel, quick: bool = False) -> list[dict[str, Any]]:
    sessions = {}
    for lang in LANGUAGES:
        stream, spans = session_stream(lang, half, tail)
        vad = make_vad("silero")
        probs = [vad.speech_probability(stream[i:i + FRAME]) for i in range(0, len(stream) - FRAME + 1, FRAME)]
        sessions[lang] = (stream, spans, probs + [0.0])
    grid = {"combined_short_ms": [250, 300, 400], "combined_mid_ms": [400, 500, 600],
            "combined_sure": [0.9, 0.97], "combined_habit_margin_ms": [0, 100, 200, 300],
            "combined_habit_quantile": [0.5, 0.75, 1.0], "combined_long_ms": [1000, 1600]}
    if quick:  # the settings that mattered in the full grid
        grid |= {"combined_short_ms": [300], "combined_sure": [0.9], "combined_long_ms": [1000],
                 "combined_mid_ms": [400, 500]}
    results = []
    for values in itertools.product(*grid.values()):
        extra = dict(zip(grid, values))
        if not extra["combined_short_ms"] <= extra["combined_mid_ms"]:
            continue
        rows = []
        for stream, spans, probs in sessions.values():
            rows += run_session(settings_for("combined", extra), stream, spans, model, ReplayVAD(probs))
        results.append(extra | summary(rows))
    for policy in ("silence", "smart-turn"):
        rows = []
        for stream, spans, probs in sessions.values():
            rows += run_session(settings_for(policy, {}), stream, spans, model, ReplayVAD(probs))
        results.append({"policy": policy} | summary(rows))
    return sorted(results, key=lambda r: (r["split"], r["wait_p50_ms"], r["wait_p95_ms"]))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--languages", default=",".join(LANGUAGES))
    ap.add_argument("--policies", default=",".join(POLICIES))
    ap.add_argument("--half", choices=["all", "even", "odd"], default="all",
                    help="which clips: even ones (000, 002, ...) to tune on, odd ones to check")
    ap.add_argument("--tail", type=float, default=3.0, help="seconds of room tone after each clip")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="an audio setting for the combined policy, e.g. combined_short_ms=400")
    ap.add_argument("--tune", action="store_true", help="grid of combined settings (replayed VAD)")
    ap.add_argument("--quick", action="store_true", help="with --tune: a smaller grid")
    ap.add_argument("--json", help="write the results here")
    a = ap.parse_args()
    if not FLEURS.is_dir():
        print(f"error: the FLEURS clips are not at {FLEURS}", file=sys.stderr)
        return 2
    model = CachedModel()
    if a.tune:
        results = tune("even" if a.half == "all" else a.half, a.tail, model, a.quick)
        for r in results[:25]:
            print(json.dumps(r))
        if a.json:
            Path(a.json).write_text(json.dumps(results, indent=1))
        return 0
    extra: dict[str, Any] = {}
    for kv in a.set:
        k, _, v = kv.partition("=")
        extra[k] = json.loads(v) if v[:1].isdigit() or v in ("true", "false") else v
    out: dict[str, Any] = {"half": a.half, "tail_s": a.tail, "combined": settings_for("combined", extra).model_dump(
        include={"smart_turn_silence_ms", "combined_short_ms", "combined_mid_ms", "combined_long_ms",
                 "combined_sure", "smart_turn_threshold", "combined_habit_margin_ms", "combined_habit_quantile",
                 "combined_smart_turn"})}
    t0 = time.perf_counter()
    for policy in a.policies.split(","):
        per_lang, rows_all = {}, []
        for lang in a.languages.split(","):
            stream, spans = session_stream(lang, a.half, a.tail)
            rows = run_session(settings_for(policy, extra), stream, spans, model)
            per_lang[lang] = summary(rows) | {"split_clips": [r["clip"] for r in rows if r["turns"] > 1]}
            rows_all += rows
        out[policy] = {"all": summary(rows_all), **per_lang}
        print(json.dumps({"policy": policy, **out[policy]["all"]},), flush=True)
    if model.times:
        out["decision_ms"] = {"median": round(statistics.median(model.times) * 1000, 1),
                              "p95": round(float(np.percentile(model.times, 95)) * 1000, 1), "n": len(model.times)}
    out["seconds"] = round(time.perf_counter() - t0, 1)
    print(json.dumps(out, indent=1))
    if a.json:
        Path(a.json).write_text(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
