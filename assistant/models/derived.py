"""Files the starter pack derives from its pinned files, with code of this project:

- ``smollm2-135m-instruct-hf/``: the GGUF dequantised once into a transformers directory (loads in
  0.3 s instead of the 20-60 s GGUF conversion at every start);
- ``qwen2.5-coder-0.5b-instruct-hf/``: the same for the Qwen GGUF, kept in float16 (1 GB instead of
  2 GB; the weights came from 4-6 bit blocks, so nothing is lost that the GGUF had);
- ``whisper-base-openai/base.pt``: the CTranslate2 Whisper as an openai-whisper checkpoint (when
  ``assistant.stt.ct2_convert`` is present).

Each is built aside and renamed into place, then recorded (sha256) in the manifest. A step whose
code or packages are missing is skipped with a note: the pack works without them.
"""

from __future__ import annotations

import os
from pathlib import Path

from assistant.models.packfiles import (
    LLM_GGUF,
    LLM_HF,
    QWEN_GGUF,
    QWEN_HF,
    WHISPER_CT2,
    WHISPER_PT,
    Pack,
    Say,
    _clean_stale,
    _remove,
    _write_manifest,
    read_manifest,
    sha256_of,
)


def derive(root: Path, pack: Pack, say: Say) -> list[str]:
    """Files made from the pack by code in this project; each built aside and renamed into
    place, then recorded in the manifest. A step whose code is missing is skipped with a note."""
    _clean_stale(root, ".*.tmp-*")  # left by a killed install
    manifest = read_manifest(root) or {}
    derived: dict[str, str] = dict(manifest.get("derived") or {})
    notes: list[str] = []
    added: list[str] = []
    for rel, build in ((LLM_HF, _build_llm_hf), (WHISPER_PT, _build_whisper_pt), (QWEN_HF, _build_qwen_hf)):
        top = Path(rel).parts[0]
        if (root / rel).exists() and any(k.startswith(top + "/") for k in derived):
            continue
        if rel == QWEN_HF and not (root / QWEN_GGUF).is_file():
            continue  # a pack without the Qwen GGUF (tests' small packs): nothing to make it from
        tmp = root / f".{Path(rel).parts[0]}.tmp-{os.getpid()}"
        _remove(tmp)
        try:
            note = build(root, tmp, say)
            if note:
                notes.append(note)
                continue
            _remove(root / top)
            os.rename(tmp, root / top)
            derived = {k: v for k, v in derived.items() if not k.startswith(top + "/")}
            derived.update(_digests(root, root / top))
            added.append(rel)
        except Exception as e:  # a derived file is an optimisation: the pack works without it
            notes.append(f"{rel} was not made: {type(e).__name__}: {e}")
        finally:
            _remove(tmp)
    for n in notes:
        say(f"  note: {n}")
    if added or notes != manifest.get("notes"):
        _write_manifest(root, pack, derived, notes)
    return added


def _digests(root: Path, directory: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): sha256_of(p) for p in sorted(directory.rglob("*")) if p.is_file()}


def _build_llm_hf(root: Path, tmp: Path, say: Say) -> str | None:
    """Dequantise the GGUF once into a transformers directory: loading it then takes a fraction
    of a second instead of the ~20-60 s GGUF conversion at every start."""
    return _gguf_to_hf(root / LLM_GGUF, LLM_HF, tmp, say, "float32")


def _build_qwen_hf(root: Path, tmp: Path, say: Say) -> str | None:
    return _gguf_to_hf(root / QWEN_GGUF, QWEN_HF, tmp, say, "float16")


def _gguf_to_hf(gguf: Path, rel: str, tmp: Path, say: Say, dtype: str) -> str | None:
    import importlib.util

    if importlib.util.find_spec("gguf") is None or importlib.util.find_spec("accelerate") is None:
        return f"{rel} needs the gguf and accelerate packages (pip install gguf accelerate)"
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.utils import logging as hf_logging

    say(f"  converting {gguf.name} into a transformers directory (once; about a minute) …")
    bars = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
        model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
        model = model.to(getattr(torch, dtype))
    finally:
        if bars:
            hf_logging.enable_progress_bar()
    # save_pretrained refuses a model that still says it is quantised; the weights are plain floats now.
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    model.save_pretrained(tmp)
    tokenizer.save_pretrained(tmp)
    return None


def _build_whisper_pt(root: Path, tmp: Path, say: Say) -> str | None:
    try:
        from assistant.stt.ct2_convert import ct2_to_openai_whisper
    except ImportError:
        return f"{WHISPER_PT} not made: this version has no CTranslate2 → openai-whisper converter"
    say("  converting whisper-base-ct2 into an openai-whisper checkpoint …")
    tmp.mkdir(parents=True, exist_ok=True)
    ct2_to_openai_whisper(root / WHISPER_CT2, tmp / Path(WHISPER_PT).name)
    return None
