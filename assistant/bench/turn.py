"""One full turn, end of speech → first audio, with real-size models of every stage.

Sequential on one thread, as the orchestrator's worker runs a turn: STT on the whole utterance
(the fastest STT backend of the run, fixed token count), the LLM streaming until its first
sentence (fixed ``turn_tokens``: random weights write no real sentence), then VITS speaking a
sentence of that length. The time until that first audio is what a user waits.
"""

from __future__ import annotations

import time
from typing import Any

from assistant.bench import llm as llm_bench
from assistant.bench import stt as stt_bench
from assistant.bench import tts as tts_bench
from assistant.bench.common import Settings, stats
from assistant.core.types import AudioChunk

FIRST_SENTENCE = "Sure, it is sunny in Berlin today."


def choose_stt(stt_result: dict[str, Any] | None, settings: Settings) -> tuple[str, stt_bench.SttSpec]:
    """Base size if it was asked for (else the first size), and the STT backend that was fastest
    there in this run (faster-whisper's first compute type when STT was not benchmarked)."""
    size = "base" if "base" in settings.sizes else settings.sizes[0]
    specs = stt_bench.specs(settings.device)
    rows = next((s["backends"] for s in (stt_result or {}).get("sizes", []) if s["size"] == size), [])
    if rows:
        best = min(rows, key=lambda r: r["wall_s"]["median"])["name"]
        return size, next(s for s in specs if s.name == best)
    return size, next(s for s in specs if s.backend == "faster-whisper")


def run(settings: Settings, clip: tuple[str, AudioChunk], stt_result: dict[str, Any] | None,
        log: Any) -> dict[str, Any]:
    size, spec = choose_stt(stt_result, settings)
    log(f"turn: {spec.name} {size} + llm {settings.llm_size} + vits {settings.tts_size}")
    ckpt, ct2 = stt_bench.build_models(size, settings)
    stt = stt_bench.Runner(spec, ckpt if spec.backend == "whisper" else ct2, settings)
    llm, clock, _ = llm_bench.load(settings, settings.turn_tokens)
    _, backend, options = tts_bench.voices(settings)[0]
    tts, _ = tts_bench.load_voice(backend, options)

    name, audio = clip
    parts: dict[str, list[float]] = {"stt_s": [], "llm_first_token_s": [], "llm_first_sentence_s": [],
                                     "tts_first_audio_s": [], "total_s": []}
    for i in range(settings.warmup + settings.repeat):
        t0 = time.perf_counter()  # the utterance has just ended
        stt.run(audio)
        t1 = time.perf_counter()
        first_token, last_token, _ = llm_bench.generate(llm, clock)
        t2 = time.perf_counter()
        first_audio, _, _ = tts_bench.speak(tts, FIRST_SENTENCE)
        t3 = t2 + first_audio
        if i >= settings.warmup:
            for key, value in (("stt_s", t1 - t0), ("llm_first_token_s", first_token),
                               ("llm_first_sentence_s", t2 - t1), ("tts_first_audio_s", first_audio),
                               ("total_s", t3 - t0)):
                parts[key].append(value)
    return {"audio": name, "audio_seconds": round(audio.duration, 3),
            "stt": {"name": spec.name, "size": size, "tokens": settings.stt_tokens},
            "llm": {"size": settings.llm_size, "tokens": settings.turn_tokens},
            "tts": {"name": tts_bench.voices(settings)[0][0], "sentence": FIRST_SENTENCE},
            "runs": settings.repeat, **{k: stats(v) for k, v in parts.items()}}
