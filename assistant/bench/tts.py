"""TTS benchmark: time to first audio and real-time factor, per voice backend.

Coqui VITS is built with random weights at its real size (``assistant.bench.models.tts``), so it
costs what a released VITS voice costs; its audio is noise and its length is whatever the
random duration predictor says, which is why the real-time factor (compute per second of audio
produced) is the figure to compare. espeak-ng is a formant synthesiser and needs no model. Piper
is timed with the starter pack's real voice (en_US-joe-medium) when it is installed.

``cold_first_audio_s`` is the first synthesis after loading (what a voice without ``warmup``
costs on the first reply); the other figures are warm.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from assistant.bench.common import Settings, cached, stats

SENTENCE = "Sure! It is sunny in Berlin today, with a light breeze and about twenty degrees."


def build_vits(settings: Settings) -> tuple[Path, Path]:
    from assistant.bench.models.tts import build_vits as build

    directory = cached(settings.work_dir / f"vits-{settings.tts_size}-seed{settings.seed}",
                       lambda p: build(p, size=settings.tts_size, seed=settings.seed))
    return directory / "model.pth", directory / "config.json"


PIPER_VOICE = "piper/en_US-joe-medium.onnx"  # in the starter pack


def voices(settings: Settings) -> list[tuple[str, str, dict[str, Any]]]:
    """(row name, registry backend, options) per voice; building the VITS model if needed."""
    from assistant.models import starter_dir

    model, config = build_vits(settings)
    return [(f"coqui vits ({settings.tts_size})", "coqui",
             {"model": str(model), "config": str(config), "device": settings.device}),
            ("espeak-ng", "espeak", {}),
            ("piper joe-medium (starter)", "piper", {"model": str(starter_dir() / PIPER_VOICE)})]


def load_voice(backend: str, options: dict[str, Any]) -> tuple[Any, float]:
    from assistant.core import registry

    b = registry.get("tts", backend)
    tts = b.create(b.options_class()(backend=backend, **options))
    t0 = time.perf_counter()
    tts.load()
    return tts, time.perf_counter() - t0


def speak(tts: Any, text: str = SENTENCE, language: str = "en") -> tuple[float, float, float]:
    """(time to first audio, total time, seconds of audio) for one sentence."""
    t0 = time.perf_counter()
    first, seconds = None, 0.0
    for chunk in tts.synthesize(text, language):
        first = first if first is not None else time.perf_counter() - t0
        seconds += chunk.duration
    total = time.perf_counter() - t0
    return (first if first is not None else total), total, seconds


def run(settings: Settings, log: Any) -> dict[str, Any]:
    rows = []
    for name, backend, options in voices(settings):
        log(f"tts {name}")
        try:
            tts, load_s = load_voice(backend, options)
        except Exception as e:  # a missing program or package skips this voice, visibly
            rows.append({"name": name, "backend": backend, "skipped": f"{type(e).__name__}: {e}"})
            continue
        cold = speak(tts)[0]
        for _ in range(settings.warmup - 1):
            speak(tts)
        firsts, totals, rtfs, seconds = [], [], [], 0.0
        for _ in range(settings.repeat):
            first, total, seconds = speak(tts)
            firsts.append(first)
            totals.append(total)
            rtfs.append(total / seconds if seconds else float("nan"))
        rows.append({"name": name, "backend": backend, "load_s": round(load_s, 3), "runs": settings.repeat,
                     "characters": len(SENTENCE), "audio_s": round(seconds, 3), "cold_first_audio_s": round(cold, 4),
                     "first_audio_s": stats(firsts), "total_s": stats(totals), "rtf": stats(rtfs)})
    return {"sentence": SENTENCE, "voices": rows}
