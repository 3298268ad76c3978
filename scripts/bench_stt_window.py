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

    python3 scripts/bench_stt_window.py --languages ../shared/audio/fleurs [--config configs/cpu.yaml]
        [--scenarios first same cycle] [--variants before after] [--set KEY=VALUE] [--json out.json]

--languages: where a live turn's STT time goes, per language (issue 18). Every FLEURS clip, trimmed
as above, goes through the live turn's hear stage (``Stages.recognise``: detection, the language
policy, its second look, the decode with its retries) with the config's STT and language policy on
the starter Whisper base; per language: WER against the .txt, language ID, wall and CPU time per
second of speech split into encoder passes, detection and decoding, tokens per second of speech,
and how many turns took a second look, were unsure, were decoded again or on the full window.
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


# -- --languages: where a live turn's STT time goes, per language ----------------------------------

class TimedModel:
    """Stands in for the CTranslate2 Whisper model and times each call by kind: encoder passes (and
    their mel frames), language detection, decoding (and its tokens)."""

    def __init__(self, model) -> None:
        self._model = model
        self.calls: list[tuple[str, str, float, int]] = []  # (phase, kind, seconds, frames or tokens)
        self.phase = "other"

    def __getattr__(self, name: str):
        return getattr(self._model, name)

    def encode(self, features, to_cpu: bool = False):
        t0 = time.perf_counter()
        out = self._model.encode(features, to_cpu=to_cpu)
        self.calls.append((self.phase, "encode", time.perf_counter() - t0, int(np.asarray(features).shape[-1])))
        return out

    def detect_language(self, *args, **kwargs):
        t0 = time.perf_counter()
        out = self._model.detect_language(*args, **kwargs)
        self.calls.append((self.phase, "detect", time.perf_counter() - t0, 0))
        return out

    def generate(self, *args, **kwargs):
        t0 = time.perf_counter()
        out = self._model.generate(*args, **kwargs)
        tokens = len(out[0].sequences_ids[0]) if out and out[0].sequences_ids else 0
        self.calls.append((self.phase, "decode", time.perf_counter() - t0, tokens))
        return out


def _phase(timed: TimedModel, name: str, fn):
    def wrapped(*args, **kwargs):
        before, timed.phase = timed.phase, name
        try:
            return fn(*args, **kwargs)
        finally:
            timed.phase = before
    return wrapped


def before_cuts(on: bool) -> None:
    """Undo (``on``) or restore the two cuts of issue 18 in faster-whisper, for a before/after in
    one run: the decode computing the log-mel again, and punctuation after the last word (Whisper's
    "..." in the margin) counting in Whisper's checks."""
    import assistant.stt.faster_whisper as fw
    from assistant.stt import whisper_options

    saved = before_cuts.__dict__.setdefault("saved", (fw._same_audio, fw.spoken))
    if on:
        fw._same_audio = lambda a, b: False
        fw.spoken = lambda segments, text, start, duration: [
            s for s in segments if not whisper_options.in_tail(start(s), duration)]
    else:
        fw._same_audio, fw.spoken = saved


def language_cost(fleurs: Path, config_path: Path, scenarios: list[str], overrides: list[str],
                  variants: tuple[str, ...] = ("after",)) -> dict:
    """Every FLEURS clip through ``Stages.recognise`` (the live turn's hear stage) with
    ``config_path``'s STT and language policy on the starter Whisper base, in each scenario:
    ``first`` (no previous language), ``same`` (the previous turn was in the clip's language),
    ``cycle`` (one clip of each language in turn, one session: as scripts/bench_speaker.py).
    ``variants``: ``after`` (the code as it is), ``before`` (``before_cuts``); with both, each
    clip runs in both back to back, so a busy spell of the machine hits both alike.
    Per clip: the decision, WER against the .txt, and the time of every encoder pass, detection
    and decode, by the step that asked for it."""
    from bench_speaker import speech_only

    from assistant.config import load_config
    from assistant.core.types import Utterance
    from assistant.engine.stages import Stages
    from assistant.eval.wer import WordErrors, word_errors
    from assistant.language.policy import LanguageState
    from assistant.stt.faster_whisper import FasterWhisperSTT

    config = load_config(config_path, [f"stt.model={starter_dir() / 'whisper-base-ct2'}",
                                       "language.check_reply=false", *overrides])
    stt = FasterWhisperSTT(config.stt)
    stages = Stages(config, stt, llm=None, voices=None)  # type: ignore[arg-type]  # hear only
    stages.load(("stt",))
    timed = TimedModel(stt._model.model)
    stt._model.model = timed
    stt.detect_language = _phase(timed, "detect", stt.detect_language)
    stt.detect_language_full = _phase(timed, "second-look", stt.detect_language_full)
    stt.transcribe = _phase(timed, "transcribe", stt.transcribe)
    decodes: list[tuple[int | None, str]] = []
    real_decode = stt._decode

    def counted(samples, frames, language, *args, **kwargs):
        decodes.append((frames, language))
        return real_decode(samples, frames, language, *args, **kwargs)

    stt._decode = counted
    names = sorted(p.stem for p in fleurs.glob("fleurs-*.ogg"))
    languages = sorted({n.split("-")[1] for n in names})
    by_index = sorted(names, key=lambda n: (n.split("-")[2], n.split("-")[1]))  # cycle: de en es fr pt, ...
    audio = {n: speech_only(fleurs / f"{n}.ogg") for n in names}
    rows = []
    for scenario in scenarios:
        states = {v: LanguageState() for v in variants}
        for name, variant in ((n, v) for n in (by_index if scenario == "cycle" else names) for v in variants):
            lang = name.split("-")[1]
            state = states[variant]
            if scenario == "first":
                state = LanguageState()
            elif scenario == "same":
                state = LanguageState(previous=lang)
            before_cuts(variant == "before")
            timed.calls.clear()
            decodes.clear()
            chunk = AudioChunk(audio[name], 16000)
            cpu, wall = time.process_time(), time.perf_counter()
            heard = stages.recognise(Utterance(chunk, speech_ratio=1.0), state, {})
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
            reference = (fleurs / f"{name}.txt").read_text().strip()
            text = heard.transcript.text if heard.transcript else ""
            errors = word_errors(reference, text)
            calls = list(timed.calls)
            d = heard.decision
            rows.append({
                "variant": variant, "scenario": scenario, "clip": name, "language": lang,
                "heard": d.language if d else "",
                "reason": d.reason if d else "", "candidates": list(d.candidates) if d else [],
                "seconds": round(chunk.duration, 2), "wall_s": round(wall, 3), "cpu_s": round(cpu, 3),
                "errors": [errors.substitutions, errors.deletions, errors.insertions, errors.reference_words],
                "tokens": sum(n for _, k, _, n in calls if k == "decode"),
                "decodes": len(decodes), "full_window_decodes": sum(f is None for f, _ in decodes),
                "second_look": any(p == "second-look" for p, _, _, _ in calls),
                "steps": {f"{p}/{k}": round(sum(s for p2, k2, s, _ in calls if (p2, k2) == (p, k)), 4)
                          for p, k in {(p, k) for p, k, _, _ in calls}},
                "encode_frames": [n for _, k, _, n in calls if k == "encode"], "text": text})
            r = rows[-1]
            print(f"  {variant} {scenario} {name}: {r['heard']} ({r['reason']}) {wall:.2f} s, {r['tokens']} tokens, "
                  f"{r['decodes']} decodes, second look {r['second_look']}", file=sys.stderr, flush=True)
    before_cuts(False)
    summary = []
    for variant, scenario, lang in ((v, s, la) for s in scenarios for la in languages for v in variants):
        rs = [r for r in rows if (r["variant"], r["scenario"], r["language"]) == (variant, scenario, lang)]
        if not rs:
            continue
        errs = sum((WordErrors(*r["errors"]) for r in rs), WordErrors())
        speech = sum(r["seconds"] for r in rs)

        def step(key: str, rs: list = rs) -> float:
            return sum(r["steps"].get(key, 0.0) for r in rs)

        encode = step("detect/encode") + step("transcribe/encode") + step("second-look/encode")
        detect = step("detect/detect") + step("second-look/detect")
        decode = step("transcribe/decode")
        wall = sum(r["wall_s"] for r in rs)
        cpu = sum(r["cpu_s"] for r in rs)
        summary.append({
            "variant": variant, "scenario": scenario, "language": lang, "clips": len(rs), "speech_s": round(speech, 1),
            "wer": round(100 * (errs.wer or 0.0), 1), "lid": sum(r["heard"] == lang for r in rs),
            "wall_s": round(wall, 2), "ms_per_speech_s": round(1000 * wall / speech),
            "cpu_s": round(cpu, 2), "cpu_ms_per_speech_s": round(1000 * cpu / speech),
            "encode_s": round(encode, 2), "detect_s": round(detect, 2), "decode_s": round(decode, 2),
            "other_s": round(wall - encode - detect - decode, 2),
            "second_look_s": round(step("second-look/encode") + step("second-look/detect"), 2),
            "tokens_per_speech_s": round(sum(r["tokens"] for r in rs) / speech, 2),
            "second_looks": sum(r["second_look"] for r in rs),
            "candidate_turns": sum(bool(r["candidates"]) for r in rs),
            "retried": sum(r["decodes"] > 1 for r in rs),
            "full_window": sum(r["full_window_decodes"] > 0 for r in rs),
            "encoder_passes": sum(len(r["encode_frames"]) for r in rs)})
    return {"config": str(config_path), "overrides": overrides, "rows": rows, "summary": summary}


def print_language_cost(result: dict) -> None:
    print("| variant | scenario | language | clips | WER | LID | ms per s of speech (CPU) | encode | detect | decode | "
          "other | tokens per s of speech | second looks (s) | unsure turns | retried | full window | "
          "encoder passes |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for s in result["summary"]:
        print(f"| {s['variant']} | {s['scenario']} | {s['language']} | {s['clips']} | {s['wer']:.1f} % "
              f"| {s['lid']}/{s['clips']} | {s['ms_per_speech_s']} ({s['cpu_ms_per_speech_s']}) "
              f"| {s['encode_s']:.2f} s | {s['detect_s']:.2f} s | {s['decode_s']:.2f} s "
              f"| {s['other_s']:.2f} s | {s['tokens_per_speech_s']:.2f} | {s['second_looks']} "
              f"({s['second_look_s']:.2f} s) | {s['candidate_turns']} | {s['retried']} | {s['full_window']} "
              f"| {s['encoder_passes']} |")


def main(argv: list[str] | None = None) -> int:
    from bench_speaker import clips, speech_only

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--backends", nargs="+", default=["faster-whisper", "whisper"],
                    choices=["faster-whisper", "whisper"])
    ap.add_argument("--margin", type=float, default=2.0, help="stt.audio_ctx_margin_s (seconds)")
    ap.add_argument("--json", type=Path)
    ap.add_argument("--languages", type=Path, metavar="FLEURS_DIR", help=(
        "instead: every FLEURS clip in DIR through the live turn's hear stage with --config's STT and "
        "language policy; per language WER, language ID and where the time goes"))
    ap.add_argument("--config", type=Path, default=ROOT / "configs" / "cpu.yaml")
    ap.add_argument("--scenarios", nargs="+", default=["first", "same", "cycle"], choices=["first", "same", "cycle"])
    ap.add_argument("--variants", nargs="+", default=["after"], choices=["before", "after"], help=(
        "with --languages: `before` undoes issue 18's two cuts (log-mel reuse, punctuation after the "
        "last word); both: each clip in both, back to back"))
    ap.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    a = ap.parse_args(argv)
    MARGIN["s"] = a.margin
    if a.languages:
        result = language_cost(a.languages, a.config, a.scenarios, a.overrides, tuple(a.variants))
        print_language_cost(result)
        if a.json:
            a.json.write_text(json.dumps(result, indent=1, ensure_ascii=False))
        return 0

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
