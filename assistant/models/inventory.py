"""Every model a config uses: where it resolves, whether it is here, which hub it comes from,
and how to fetch it (``assistant models list`` / ``pull``, ``doctor``, the starter fallback).

Presence is decided from the caches' layout alone (no model library is imported, nothing is
downloaded), so this is fast enough for start-up.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

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


def _size(path: Path) -> int:
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


def _hf_snapshot(repo: str, cache_dir: str | None, needed: tuple[str, ...]) -> Path | None:
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


def _entry(stage: str, backend: str, name: str, location: Path, present: bool, local: bool,
           hub_url: str | None) -> ModelEntry:
    return ModelEntry(stage, backend, name, str(location), present, local, hub_url,
                      _size(location) if present else None)


# ----------------------------------------------------------------------------- per backend

def _stt_whisper(o: Any, stage: str) -> ModelEntry:
    from assistant.stt.whisper import MODEL_NAMES

    if o.model not in MODEL_NAMES:
        path = Path(o.model).expanduser()
        return _entry(stage, "whisper", o.model, path, path.is_file(), True, None)
    root = Path(o.download_root).expanduser() if o.download_root else \
        Path(os.getenv("XDG_CACHE_HOME", Path.home() / ".cache")) / "whisper"
    path = root / f"{_WHISPER_FILES.get(o.model, o.model)}.pt"
    return _entry(stage, "whisper", o.model, path, path.is_file(), False, hub.WHISPER_HOST)


# whisper's cache file names (from whisper._MODELS' URLs, without importing whisper)
_WHISPER_FILES = {"large": "large-v3", "turbo": "large-v3-turbo"}


def _stt_faster_whisper(o: Any, stage: str) -> ModelEntry:
    from assistant.stt.faster_whisper import MODEL_REPOS

    local = Path(o.model).expanduser()
    if local.is_dir() or (o.model not in MODEL_REPOS and hub.looks_like_path(o.model)):
        return _entry(stage, "faster-whisper", o.model, local, (local / "model.bin").is_file(), True, None)
    repo = MODEL_REPOS.get(o.model, o.model)
    snap = _hf_snapshot(repo, o.download_root, ("model.bin", "config.json"))
    return _entry(stage, "faster-whisper", o.model, snap or Path(f"hf:{repo}"), snap is not None, False,
                  hub.hf_endpoint())


def _llm_transformers(o: Any, stage: str) -> ModelEntry:
    local = Path(o.model).expanduser()
    if local.exists() or hub.looks_like_path(o.model):
        ok = local.is_file() or (local / "config.json").is_file()
        return _entry(stage, "transformers", o.model, local, ok, True, None)
    snap = _hf_snapshot(o.model, o.cache_dir, ("config.json",))
    return _entry(stage, "transformers", o.model, snap or Path(f"hf:{o.model}"), snap is not None, False,
                  hub.hf_endpoint())


def _llm_ctranslate2(o: Any, stage: str) -> ModelEntry:
    """The same checkpoints as transformers (a hub id or a local directory), converted at load."""
    from dataclasses import replace

    return replace(_llm_transformers(o, stage), backend="ctranslate2")


def _llm_onnx_genai(o: Any, stage: str) -> ModelEntry:
    """The same checkpoints as transformers, or a directory already converted (genai_config.json)."""
    from dataclasses import replace

    local = Path(o.model).expanduser()
    if (local / "genai_config.json").is_file():
        return _entry(stage, "onnxruntime-genai", o.model, local, True, True, None)
    return replace(_llm_transformers(o, stage), backend="onnxruntime-genai")


def _llm_openai(o: Any, stage: str) -> ModelEntry:
    return ModelEntry(stage, "openai", getattr(o, "model", "") or "", getattr(o, "base_url", ""), True, False,
                      None, None, remote=True)


def coqui_cache() -> Path:
    """Coqui's model cache, as its ``get_user_data_dir("tts")`` computes it on Linux/macOS."""
    if os.environ.get("TTS_HOME"):
        return Path(os.environ["TTS_HOME"]).expanduser() / "tts"
    if os.environ.get("XDG_DATA_HOME"):
        return Path(os.environ["XDG_DATA_HOME"]).expanduser() / "tts"
    if os.uname().sysname == "Darwin":
        return Path.home() / "Library" / "Application Support" / "tts"
    return Path.home() / ".local" / "share" / "tts"


def _tts_coqui(o: Any, stage: str) -> ModelEntry:
    path = Path(o.model).expanduser()
    parts = o.model.split("/")
    if path.exists() or not (len(parts) == 4 and parts[0] == "tts_models"):
        return _entry(stage, "coqui", o.model, path, path.exists(), True, None)
    cached = coqui_cache() / o.model.replace("/", "--")
    present = cached.is_dir() and any(cached.iterdir())
    return _entry(stage, "coqui", o.model, cached, present, False, hub.COQUI_HOST)


def _tts_espeak(o: Any, stage: str) -> ModelEntry:
    program = shutil.which("espeak-ng") or shutil.which("espeak")
    return ModelEntry(stage, "espeak", getattr(o, "voice", None) or "espeak-ng",
                      program or "espeak-ng (not installed)", program is not None, True, None)


def _tts_piper(o: Any, stage: str) -> ModelEntry:
    """A voice name: the starter pack or the HF cache (fetched from rhasspy/piper-voices); else a path."""
    from assistant.tts import piper

    found = piper.find_local(o.model)
    if not piper.is_voice_name(o.model):
        return _entry(stage, "piper", o.model, found or Path(o.model).expanduser(), found is not None, True, None)
    where = found or Path(f"hf:{piper.REPO_ID}/{piper.repo_path(o.model)}")
    return _entry(stage, "piper", o.model, where, found is not None, False, hub.hf_endpoint())


def _tts_pico(o: Any, stage: str) -> ModelEntry:
    """Pico's voices are inside the py-nanotts package: present when it is installed."""
    import importlib.util

    spec = importlib.util.find_spec("py_nanotts")
    where = str(Path(spec.origin).parent / "lang") if spec and spec.origin else "py-nanotts (not installed)"
    return ModelEntry(stage, "pico", getattr(o, "voice", None) or "pico", where, spec is not None, True, None)


def _generic(o: Any, stage: str) -> ModelEntry:
    """Backends this module does not know (e.g. a voice backend added later): a ``model`` that
    is a path is checked; anything else is reported as configured."""
    name = str(getattr(o, "model", None) or getattr(o, "voice", None) or o.backend)
    path = Path(name).expanduser()
    if hub.looks_like_path(name) or path.exists():
        return _entry(stage, o.backend, name, path, path.exists(), True, None)
    return ModelEntry(stage, o.backend, name, "(managed by the backend)", True, False, None)


_BACKENDS: dict[str, Callable[[Any, str], ModelEntry]] = {
    "whisper": _stt_whisper, "faster-whisper": _stt_faster_whisper,
    "transformers": _llm_transformers, "ctranslate2": _llm_ctranslate2, "onnxruntime-genai": _llm_onnx_genai,
    "openai": _llm_openai,
    "coqui": _tts_coqui, "espeak": _tts_espeak, "piper": _tts_piper, "pico": _tts_pico,
}


def entry_for(options: Any, stage: str) -> ModelEntry:
    return _BACKENDS.get(options.backend, _generic)(options, stage)


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
    """Download one model into its usual cache with the library's own progress bar. Returns
    where it is. The caller has checked that the hub answers."""
    if entry.backend == "whisper":
        import whisper

        url = whisper._MODELS[entry.name]
        root = str(Path(entry.location).parent)
        whisper._download(url, root, False)  # whisper's own download: progress bar, sha256 check
        return entry.location
    if entry.backend == "faster-whisper":
        from faster_whisper.utils import download_model

        return download_model(entry.name, cache_dir=options.download_root)
    if entry.backend in ("transformers", "ctranslate2", "onnxruntime-genai"):  # the last two convert it at load
        from huggingface_hub import HfApi, snapshot_download

        ignore = ["*.onnx", "onnx/*", "*.gguf", "*.h5", "*.msgpack", "*.ot", "*.tflite", "openvino/*"]
        files = HfApi().list_repo_files(entry.name, revision=options.revision)
        if any(f.endswith(".safetensors") for f in files):  # transformers prefers them: skip the copies
            ignore += ["*.bin", "*.pth", "*.pt"]
        return snapshot_download(entry.name, revision=options.revision, cache_dir=options.cache_dir,
                                 ignore_patterns=ignore)
    if entry.backend == "coqui":
        from assistant.tts.torchaudio_compat import import_tts

        import_tts()
        from TTS.utils.manage import ModelManager

        path, _config, _item = ModelManager(progress_bar=True).download_model(entry.name)
        return str(path)
    if entry.backend == "piper":
        from assistant.tts.piper import _download

        return str(_download(entry.name))
    raise ValueError(f"no download for backend {entry.backend}")
