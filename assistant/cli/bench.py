"""``assistant bench``: time each stage's backends on the same work and report median/min/max.

The measuring code lives in ``assistant/bench/``; this module only turns arguments into
settings, loads the audio, runs the stages and prints/writes the report.
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path
from typing import Any

STAGES = ("stt", "llm", "tts", "turn")
SIZES = ("test", "tiny", "base", "small", "medium")


def add_bench(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "bench", help="time each stage's backends on the same work (random-weight models at real sizes)",
        description="Benchmark STT (openai-whisper vs faster-whisper on the same weights, audio and token "
                    "count), the LLM (time to first token, tokens/s), TTS (time to first audio, real-time "
                    "factor) and one full turn. Models are built offline with random weights and cached.")
    p.add_argument("--quick", action="store_true",
                   help="test-size models and one repetition: checks the benchmark itself in seconds")
    p.add_argument("--sizes", nargs="+", choices=SIZES, metavar="SIZE",
                   help=f"whisper architectures to time ({', '.join(SIZES)}); default: base")
    p.add_argument("--repeat", type=int, metavar="N", help="timed repetitions after warm-up (default 3)")
    p.add_argument("--warmup", type=int, metavar="N", help="untimed passes first (default 1)")
    p.add_argument("--audio", nargs="+", type=Path, metavar="FILE",
                   help="audio files for STT (default: ../shared/audio jfk.flac and three FLEURS clips)")
    p.add_argument("--tokens", type=int, metavar="N",
                   help="tokens decoded per 30 s window by every STT backend (default 48)")
    p.add_argument("--beam-size", type=int, metavar="N",
                   help="STT beam size for every backend (default 1: greedy)")
    p.add_argument("--llm-tokens", type=int, metavar="N", help="tokens per LLM reply (default 64)")
    p.add_argument("--stages", nargs="+", choices=STAGES, metavar="STAGE",
                   help=f"what to run ({', '.join(STAGES)}); default: all")
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), help="default: auto (CUDA when available)")
    p.add_argument("--seed", type=int, help="seed of the random weights (default 0)")
    p.add_argument("--work-dir", type=Path, metavar="DIR",
                   help="where built models are cached (default: ~/.cache/assistant/bench)")
    p.add_argument("--json", type=Path, metavar="OUT", help="also write the results as JSON")
    p.set_defaults(handler=run_bench)


def settings_from(args: argparse.Namespace) -> Any:
    from assistant.bench.common import Settings
    from assistant.core.errors import ConfigError

    given = {"sizes": tuple(args.sizes) if args.sizes else None, "repeat": args.repeat, "warmup": args.warmup,
             "stt_tokens": args.tokens, "beam_size": args.beam_size, "llm_tokens": args.llm_tokens,
             "device": args.device, "seed": args.seed,
             "work_dir": args.work_dir, "stages": tuple(args.stages) if args.stages else None,
             "audio": tuple(args.audio) if args.audio else None}
    given = {k: v for k, v in given.items() if v is not None}
    for key, flag in (("repeat", "--repeat"), ("stt_tokens", "--tokens"), ("beam_size", "--beam-size"),
                      ("llm_tokens", "--llm-tokens")):
        if key in given and given[key] < 1:
            raise ConfigError([f"{flag} must be at least 1"])
    if given.get("warmup", 0) < 0:
        raise ConfigError(["--warmup must be 0 or more"])
    if given.get("stt_tokens", 0) > 224:
        raise ConfigError(["--tokens must be at most 224 (half of Whisper's 448-token context)"])
    return Settings.quick_mode(**given) if args.quick else Settings(**given)


def load_clips(settings: Any) -> list[tuple[str, Any]]:
    """The STT audio at 16 kHz; a synthetic clip when no file is given and ../shared is absent."""
    import numpy as np

    from assistant.audio.io import load_audio
    from assistant.bench.common import default_audio
    from assistant.core.types import AudioChunk

    paths = list(settings.audio) or default_audio()
    if settings.quick and not settings.audio:
        paths = paths[:1]  # one clip is enough to check the machinery
    if not paths:
        t = np.arange(5 * 16000) / 16000
        noise = 0.01 * np.random.default_rng(0).standard_normal(t.size)
        tone = 0.3 * np.sin(2 * np.pi * (200 + 60 * t) * t) + noise
        return [("synthetic-5s", AudioChunk(tone.astype(np.float32), 16000))]
    return [(p.name, load_audio(p, 16000)) for p in paths]


def environment(settings: Any) -> dict[str, Any]:
    import importlib.metadata as md
    import os

    import torch

    versions = {}
    for dist in ("torch", "openai-whisper", "faster-whisper", "ctranslate2", "transformers", "coqui-tts"):
        try:
            versions[dist] = md.version(dist)
        except md.PackageNotFoundError:
            versions[dist] = None
    return {"python": platform.python_version(), "platform": platform.platform(), "cpu": platform.processor(),
            "cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
            "torch_threads": torch.get_num_threads(), "cuda": torch.cuda.is_available(), "versions": versions}


def run_bench(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from assistant.bench import report
    from assistant.cli.output import console, err_console

    settings = settings_from(args)
    if args.json:  # before minutes of benchmarking, not after (its folder is created if missing)
        from assistant.core.paths import check_output

        folder = args.json.parent
        while not folder.exists() and folder != folder.parent:
            folder = folder.parent
        check_output(folder / args.json.name if not args.json.parent.exists() else args.json, what="--json output")
    if not args.debug:  # model building loads and saves through transformers: no progress bars
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
    if settings.device == "auto":
        from assistant.core.options import resolve_device

        settings = type(settings)(**{**asdict(settings), "device": resolve_device("auto")})
    log = (lambda msg: err_console.print(f"[dim]… {msg}[/]")) if sys.stderr.isatty() else (lambda msg: None)
    clips = load_clips(settings)
    started = time.perf_counter()
    results: dict[str, Any] = {
        "schema": report.SCHEMA_VERSION,
        "quick": settings.quick, "environment": environment(settings),
        "settings": {k: (str(v) if isinstance(v, Path) else [str(x) for x in v] if k == "audio" else v)
                     for k, v in asdict(settings).items()},
    }
    if "stt" in settings.stages:
        from assistant.bench import stt

        results["stt"] = stt.run(settings, clips, log)
    if "llm" in settings.stages:
        from assistant.bench import llm

        results["llm"] = llm.run(settings, log)
    if "tts" in settings.stages:
        from assistant.bench import tts

        results["tts"] = tts.run(settings, log)
    if "turn" in settings.stages:
        from assistant.bench import turn

        results["turn"] = turn.run(settings, clips[0], results.get("stt"), log)
    results["seconds"] = round(time.perf_counter() - started, 1)
    report.print_report(results, console)
    if args.json:
        console.print(f"[dim]JSON: {report.write_json(results, args.json)}[/]")
    return 0
