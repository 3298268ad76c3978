"""What every stage benchmark shares: settings, timing statistics and the model cache."""

from __future__ import annotations

import os
import shutil
import statistics
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

#: Audio the STT benchmark uses by default, relative to ``../shared/audio`` beside the repository.
DEFAULT_AUDIO = ("jfk.flac", "fleurs/fleurs-de-000.ogg", "fleurs/fleurs-es-000.ogg", "fleurs/fleurs-fr-000.ogg")


@dataclass(frozen=True)
class Settings:
    quick: bool = False
    sizes: tuple[str, ...] = ("base",)  # whisper architectures
    repeat: int = 3
    warmup: int = 1
    stt_tokens: int = 48  # decoded tokens per 30 s window, every backend
    beam_size: int = 1  # 1: greedy
    llm_size: str = "0.5b"
    llm_tokens: int = 64
    tts_size: str = "real"
    turn_tokens: int = 16  # LLM tokens until "the first sentence" in the full-turn figure
    device: str = "auto"  # auto: CUDA when available (fp16/float16 there), else CPU
    seed: int = 0
    work_dir: Path = field(default_factory=lambda: default_work_dir())
    audio: tuple[Path, ...] = ()
    stages: tuple[str, ...] = ("stt", "llm", "tts", "turn")

    @classmethod
    def quick_mode(cls, **overrides: Any) -> "Settings":
        """Test-size models, one repetition: the whole command in seconds (for the test suite)."""
        base = dict(quick=True, sizes=("test",), repeat=1, warmup=1, stt_tokens=8, llm_size="test",
                    llm_tokens=8, tts_size="test", turn_tokens=4)
        return cls(**{**base, **overrides})


def default_work_dir() -> Path:
    # Random-weight models are reproducible from their seed, so a cache is safe to reuse.
    return Path(os.getenv("XDG_CACHE_HOME", Path.home() / ".cache")) / "assistant" / "bench"


def shared_audio_dir() -> Path:
    """``../shared/audio`` beside the repository (where the project keeps its real speech)."""
    return Path(__file__).resolve().parents[2].parent / "shared" / "audio"


def default_audio() -> list[Path]:
    root = shared_audio_dir()
    return [root / name for name in DEFAULT_AUDIO if (root / name).is_file()]


def stats(values: list[float]) -> dict[str, float]:
    """Median/min/max (seconds or whatever ``values`` hold), rounded for the report."""
    if not values:
        return {"median": float("nan"), "min": float("nan"), "max": float("nan")}
    return {"median": round(statistics.median(values), 4), "min": round(min(values), 4),
            "max": round(max(values), 4)}


def cached(path: Path, build: Callable[[Path], Any]) -> Path:
    """``path`` if it exists, else ``build(tmp)`` then an atomic rename, so an interrupted build
    never leaves a half-written model that later runs would trust."""
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=path.name + ".", dir=path.parent))
    try:
        target = tmp / path.name
        build(target)
        os.replace(target, path)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return path


def sync(device: str) -> None:
    """Wait for queued GPU work, so a wall-clock reading covers it."""
    if device == "cuda":
        import torch

        torch.cuda.synchronize()
