"""What a backend says about its model: :class:`ModelEntry` and the helpers backends share to make one.

Each backend module may define, at module level (found through its registry row's ``target``
module, see :class:`assistant.core.registry.Backend`):

- ``model_entry(options, stage) -> ModelEntry``: which model ``options`` need, where it is or
  would be cached, whether it is there and which hub it comes from. Decided from the caches'
  layout alone (no model library imported, nothing downloaded), so it is fast enough for start-up;
- ``fetch(entry, options) -> str``: download it into its usual cache with the library's own
  progress bar and return where it is (the caller has checked that the hub answers).

A backend without ``model_entry`` gets :func:`generic_entry`; one without ``fetch`` has nothing to
download.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assistant.core import hub


@dataclass(frozen=True)
class ModelEntry:
    stage: str  # stt | llm | tts:<language> | tts:fallback
    backend: str
    name: str  # as configured
    location: str  # where it is, or where it would be cached
    present: bool
    local: bool  # configured as a local path (never fetched)
    hub_url: str | None  # where it is fetched from (None: nothing to fetch)
    size: int | None = None  # bytes, when present
    remote: bool = False  # served by another program (an LLM server): not a file here

    @property
    def status(self) -> str:
        if self.remote:
            return "remote"
        return "present" if self.present else "missing"

    def fix(self) -> str | None:
        if self.present or self.remote:
            return None
        if self.local:
            return f"the path {self.name} does not exist: fix {self.stage} in the config"
        return "assistant models pull (on a connected machine), or assistant models install starter"


def size_of(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    total = 0
    for p in path.rglob("*"):
        try:
            if p.is_file():
                total += p.stat().st_size  # follows the HF cache's symlinks to the blobs
        except OSError:
            pass
    return total


def hf_snapshot(repo: str, cache_dir: str | None, needed: tuple[str, ...]) -> Path | None:
    """The cached snapshot directory of ``repo`` when it holds ``needed`` files, else None."""
    from huggingface_hub import constants

    cache = Path(cache_dir).expanduser() if cache_dir else Path(constants.HF_HUB_CACHE)
    repo_dir = cache / f"models--{repo.replace('/', '--')}"
    ref = repo_dir / "refs" / "main"
    snapshots = repo_dir / "snapshots"
    if not snapshots.is_dir():
        return None
    candidates = [snapshots / ref.read_text().strip()] if ref.is_file() else sorted(snapshots.iterdir())
    for snap in candidates:
        if snap.is_dir() and all((snap / n).exists() for n in needed):
            return snap
    return None


def entry(stage: str, backend: str, name: str, location: Path, present: bool, local: bool,
          hub_url: str | None) -> ModelEntry:
    """An entry for a file or directory, with its size when it is present."""
    return ModelEntry(stage, backend, name, str(location), present, local, hub_url,
                      size_of(location) if present else None)


def remote_entry(options: Any, stage: str) -> ModelEntry:
    """A model served by another program (an OpenAI-compatible server): nothing here to check or fetch."""
    return ModelEntry(stage, "openai", getattr(options, "model", "") or "", getattr(options, "base_url", ""),
                      True, False, None, None, remote=True)


def generic_entry(options: Any, stage: str) -> ModelEntry:
    """Backends that say nothing about their model: a ``model`` that is a path is checked;
    anything else is reported as configured."""
    name = str(getattr(options, "model", None) or getattr(options, "voice", None) or options.backend)
    path = Path(name).expanduser()
    if hub.looks_like_path(name) or path.exists():
        return entry(stage, options.backend, name, path, path.exists(), True, None)
    return ModelEntry(stage, options.backend, name, "(managed by the backend)", True, False, None)
