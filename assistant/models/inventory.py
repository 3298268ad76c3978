"""Every model a config uses: where it resolves, whether it is here, which hub it comes from,
and how to fetch it (``assistant models list`` / ``pull``, ``doctor``, the starter fallback).

Presence is decided from the caches' layout alone (no model library is imported, nothing is
downloaded), so this is fast enough for start-up.
"""

from __future__ import annotations

from typing import Any

from assistant.core import registry
from assistant.core.model_entry import ModelEntry, generic_entry

__all__ = ["ModelEntry", "configured_models", "entry_for", "fetch", "format_size"]


def _backend(options: Any, stage: str) -> registry.Backend | None:
    return registry.BACKENDS.get(stage.partition(":")[0], {}).get(options.backend)


def entry_for(options: Any, stage: str) -> ModelEntry:
    """What the backend ``options`` name says about its model (its module's ``model_entry``), or
    the generic entry for a backend that says nothing."""
    backend = _backend(options, stage)
    return backend.model_entry(options, stage) if backend else generic_entry(options, stage)


def configured_models(config: Any) -> list[ModelEntry]:
    """Every model ``config`` uses, in stage order (voices by language, then the fallback)."""
    out = [entry_for(config.stt, "stt"), entry_for(config.llm, "llm")]
    for lang, voice in config.tts.voices.items():
        out.append(entry_for(voice, f"tts:{lang}"))
    if config.tts.fallback is not None:
        out.append(entry_for(config.tts.fallback, "tts:fallback"))
    return out


def format_size(n: int | None) -> str:
    if n is None:
        return "-"
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} B"


# ----------------------------------------------------------------------------- fetching

def fetch(entry: ModelEntry, options: Any) -> str:
    """Download one model into its usual cache with the library's own progress bar (its backend
    module's ``fetch``). Returns where it is. The caller has checked that the hub answers."""
    backend = _backend(options, entry.stage)
    if backend is None:
        raise ValueError(f"no download for backend {entry.backend}")
    return backend.fetch(entry, options)
