"""The starter fallback, as one config-level substitution.

``resolve_models(config) -> (config, notes)``: every configured model that is present, or can be
fetched from its hub, stays; one that is missing *and* can't be fetched (hub unreachable, or
``HF_HUB_OFFLINE``) is replaced by the matching starter model when the starter pack has it:

- STT → ``faster-whisper`` on ``starter/whisper-base-ct2`` (whatever the configured backend);
- LLM (``transformers``, ``ctranslate2`` or ``onnxruntime-genai``, same backend kept) → the starter LLM:
  Qwen2.5-Coder-0.5B-Instruct (``starter/qwen2.5-coder-0.5b-instruct-hf``), chosen over
  SmolLM2-135M-Instruct by measurement (README, "Multilingual"); SmolLM2 on a pack installed before Qwen was added;
- an ``openai`` (remote server) STT or LLM is never replaced: it is not a missing model but a
  server to start; when it does not answer, the turn says so (exit 5 for ``respond``);
- the English voice → ``piper`` on ``starter/piper/en_US-joe-medium.onnx`` once a ``piper``
  backend is registered, else Pico's English voice;
- any other language's voice that is missing and can't be fetched → ``pico`` where Pico speaks the
  language (de, es, fr, it: its voices are inside the ``py-nanotts`` package, so this needs no
  starter pack), else it is dropped from the map, so the fallback voice (espeak-ng) speaks that
  language at once instead of failing to load on every reply. This keeps the voices' ranking by
  measured intelligibility (``assistant.tts.quality``): Piper → Coqui VITS → Pico → espeak-ng.

Models configured as local paths are never replaced: a wrong path is the user's to fix. Options
the two backends share (language, beam size, temperatures, ...) are carried over. The new config
is what runs, what ``config show`` prints and what the turn log names; ``notes`` holds the one
start-up line. Nothing is downloaded here; the hub probe is short and made once per process.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from assistant.core import hub, registry
from assistant.models.inventory import ModelEntry, entry_for

STARTER_HINT = "for better ones run `assistant models pull` on a connected machine"


def _fetchable(entry: ModelEntry) -> bool:
    return entry.hub_url is not None and hub.hub_reachable(entry.hub_url)


def _missing(entry: ModelEntry) -> bool:
    """Missing here and not fetchable now (local paths don't count: they are errors to show)."""
    return not entry.present and not entry.local and not entry.remote and not _fetchable(entry)


def _carry(options: Any, kind: str, backend: str, **values: Any) -> Any:
    """``backend``'s options with ``values`` plus every option the old backend shares with it."""
    cls = registry.get(kind, backend).options_class()
    skip = {"backend", "model", "download_root", "cache_dir", "revision", "fp16", "compute_type"}
    shared = {k: v for k, v in options.model_dump().items() if k in cls.model_fields and k not in skip}
    return cls.model_validate({**shared, **values, "backend": backend})


def _starter_stt(config: Any, root: Path) -> tuple[Any, str] | None:
    from assistant.models import starter

    # Always faster-whisper: the starter Whisper ships in CTranslate2 form, and openai-whisper on
    # the converted checkpoint (whisper-base-openai/base.pt, same words) took 8.6 s against about
    # 1 s for jfk.flac on this 2-core CPU with the default beam 5 + temperature fallback. The
    # converted checkpoint is there for `--set stt.backend=whisper --set stt.model=...` and eval.
    ct2 = root / starter.WHISPER_CT2
    if (ct2 / "model.bin").is_file():
        return _carry(config.stt, "stt", "faster-whisper", model=str(ct2)), "Whisper base (faster-whisper)"
    return None


def _starter_llm(config: Any, root: Path) -> tuple[Any, str] | None:
    from assistant.models import starter

    backend = config.llm.backend
    if backend not in ("transformers", "ctranslate2", "onnxruntime-genai"):
        return None
    for hf, gguf, name in ((starter.QWEN_HF, starter.QWEN_GGUF, "Qwen2.5-Coder-0.5B-Instruct"),
                           (starter.LLM_HF, starter.LLM_GGUF, "SmolLM2-135M-Instruct")):
        if (root / hf / "config.json").is_file():
            return _carry(config.llm, "llm", backend, model=str(root / hf)), name
        if (root / gguf).is_file():  # not derived (gguf/accelerate missing at install): the GGUF itself
            if backend in ("ctranslate2", "onnxruntime-genai"):  # both take a GGUF file inside a directory
                model = {"model": str((root / gguf).parent), "gguf_file": (root / gguf).name}
                return _carry(config.llm, "llm", backend, **model), name
            return _carry(config.llm, "llm", backend, model=str(root / gguf)), name
    return None


def _starter_voice(root: Path) -> tuple[Any, str] | None:
    from assistant.models import starter

    onnx = root / starter.PIPER_VOICE
    if "piper" not in registry.BACKENDS["tts"] or not onnx.is_file():
        return None
    opts = registry.get("tts", "piper").options_class().model_validate({"backend": "piper", "model": str(onnx)})
    return opts, "Piper en_US-joe-medium"


def _pico_voice(language: str) -> Any | None:
    """Pico's options for ``language`` when Pico speaks it and py-nanotts is installed."""
    import importlib.util

    from assistant.tts.pico import pico_voice

    if "pico" not in registry.BACKENDS["tts"] or pico_voice(language) is None:
        return None
    if importlib.util.find_spec("py_nanotts") is None:
        return None
    return registry.get("tts", "pico").options_class().model_validate({"backend": "pico"})


def resolve_models(config: Any) -> tuple[Any, list[str]]:
    """``config`` with starter models where the configured ones can't be had; and the notes
    (one start-up line when anything was replaced)."""
    root = hub.starter_dir()
    entries = [entry_for(config.stt, "stt"), entry_for(config.llm, "llm")]
    if "en" in config.tts.voices:
        entries.append(entry_for(config.tts.voices["en"], "tts:en"))
    others = {lang: entry_for(opts, f"tts:{lang}") for lang, opts in config.tts.voices.items() if lang != "en"}
    has_starter = root.is_dir()  # without it only voices can be replaced (Pico needs no model files)
    hub.probe_all(e.hub_url for e in [*entries, *others.values()]
                  if not e.present and not e.local)  # in parallel, once
    replaced: list[str] = []
    changes: dict[str, Any] = {}

    stt, llm = entries[0], entries[1]
    if has_starter and _missing(stt):
        sub = _starter_stt(config, root)
        if sub:
            changes["stt"] = sub[0]
            replaced.append(f"speech recognition {sub[1]} instead of {stt.name}")
    if has_starter and _missing(llm):
        sub = _starter_llm(config, root)
        if sub:
            changes["llm"] = sub[0]
            replaced.append(f"language model {sub[1]} instead of {llm.name}")
    en = config.tts.voices.get("en")
    if en is not None and _missing(entries[2]):
        sub = _starter_voice(root) if has_starter else None
        if sub is None and en.backend != "pico" and _pico_voice("en") is not None:
            sub = _pico_voice("en"), "Pico en-US"
        if sub:
            voices = {**config.tts.voices, "en": sub[0]}
            changes["tts"] = config.tts.model_copy(update={"voices": voices})
            replaced.append(f"English voice {sub[1]} instead of {getattr(en, 'model', en.backend)}")
    missing = sorted(lang for lang, entry in others.items() if _missing(entry))
    pico = {lang: _pico_voice(lang) for lang in missing if config.tts.voices[lang].backend != "pico"}
    pico = {lang: opts for lang, opts in pico.items() if opts is not None}
    dropped = [lang for lang in missing if lang not in pico]
    if missing:
        tts = changes.get("tts", config.tts)
        voices = {lang: pico.get(lang, opts) for lang, opts in tts.voices.items() if lang not in dropped}
        changes["tts"] = tts.model_copy(update={"voices": voices})
    if pico:
        replaced.append(f"Pico for {', '.join(sorted(pico))} (their configured voices are not here)")
    if dropped:
        fallback = getattr(config.tts.fallback, "backend", None) or "the fallback voice"
        replaced.append(f"{fallback} for {', '.join(dropped)} (their configured voices are not here)")
    if not replaced:
        return config, []
    why = "the configured models are not on this machine and the model hub can't be reached"
    if hub.is_offline():
        why = "the configured models are not on this machine and HF_HUB_OFFLINE is set"
    note = f"Using the starter models ({why}): {'; '.join(replaced)} — {STARTER_HINT}."
    return dataclasses.replace(config, **changes), [note]
