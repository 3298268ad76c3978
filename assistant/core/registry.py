"""The one map from YAML backend names to the code that implements them.

``(kind, name) -> "module:Class"``. Modules are imported only when a backend is used (and its
options class when a config names it), so ``assistant --help`` stays fast and optional packages
are needed only by the backends that use them.

Each backend also owns its model knowledge: the ``target`` module may define ``model_entry(options,
stage)`` and ``fetch(entry, options)`` (the protocol is described in
:mod:`assistant.core.model_entry`); ``assistant models list`` / ``pull``, ``doctor`` and the starter
fallback ask the backend through :meth:`Backend.model_entry` and :meth:`Backend.fetch`. A new
backend is one module and one row below.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

from assistant.core.errors import ConfigError, MissingDependencyError


@dataclass(frozen=True)
class Backend:
    kind: str
    name: str
    target: str  # "package.module:Class"
    options: str  # "package.module:OptionsClass"
    requires: tuple[str, ...] = ()  # importable modules the backend needs at load time
    install: str = ""  # how to get them

    def load_class(self, ref: str) -> Any:
        module, _, attr = ref.partition(":")
        return getattr(importlib.import_module(module), attr)

    def options_class(self) -> Any:
        return self.load_class(self.options)

    def check_requirements(self) -> None:
        import importlib.util

        missing = [m for m in self.requires if importlib.util.find_spec(m) is None]
        if missing:
            raise MissingDependencyError(
                f"{self.kind} backend '{self.name}' needs {', '.join(missing)}, which is not installed",
                f"install it with: {self.install}" if self.install else None,
            )

    def create(self, options: Any) -> Any:
        self.check_requirements()
        return self.load_class(self.target)(options)

    def _module_function(self, name: str) -> Any:
        """``name`` from the ``target`` module (imported now; backend modules import their model
        libraries only when a model is loaded), or None when the module does not define it."""
        return getattr(importlib.import_module(self.target.partition(":")[0]), name, None)

    def model_entry(self, options: Any, stage: str) -> Any:
        """The model ``options`` need (a ``ModelEntry``): the backend module's ``model_entry``, else
        the generic entry (a ``model`` that is a path is checked)."""
        from assistant.core.model_entry import generic_entry

        return (self._module_function("model_entry") or generic_entry)(options, stage)

    def fetch(self, entry: Any, options: Any) -> str:
        """Download ``entry`` with the backend module's ``fetch``; returns where it is."""
        fetch = self._module_function("fetch")
        if fetch is None:
            raise ValueError(f"no download for backend {self.name}")
        return fetch(entry, options)


_B = Backend
BACKENDS: dict[str, dict[str, Backend]] = {
    "stt": {
        "whisper": _B("stt", "whisper", "assistant.stt.whisper:WhisperSTT",
                      "assistant.stt.whisper:WhisperOptions", ("whisper",), "pip install openai-whisper"),
        "faster-whisper": _B("stt", "faster-whisper", "assistant.stt.faster_whisper:FasterWhisperSTT",
                             "assistant.stt.faster_whisper:FasterWhisperOptions", ("faster_whisper",),
                             "pip install faster-whisper"),
        "openai": _B("stt", "openai", "assistant.stt.openai:OpenAISTT",
                     "assistant.stt.openai:OpenAISTTOptions", ("httpx",), "pip install httpx"),
    },
    "llm": {
        "transformers": _B("llm", "transformers", "assistant.llm.transformers:TransformersLLM",
                           "assistant.llm.transformers:TransformersOptions", ("transformers", "torch"),
                           "pip install transformers"),
        "ctranslate2": _B("llm", "ctranslate2", "assistant.llm.ctranslate2:CTranslate2LLM",
                          "assistant.llm.ctranslate2:CTranslate2LLMOptions", ("ctranslate2", "transformers"),
                          "pip install ctranslate2 transformers"),
        "onnxruntime-genai": _B("llm", "onnxruntime-genai", "assistant.llm.onnx_genai:OnnxGenAILLM",
                                "assistant.llm.onnx_genai:OnnxGenAIOptions", ("onnxruntime_genai", "transformers"),
                                "pip install onnxruntime-genai onnx-ir"),
        "openai": _B("llm", "openai", "assistant.llm.openai:OpenAILLM",
                     "assistant.llm.openai:OpenAIOptions", ("httpx",), "pip install httpx"),
    },
    "tts": {
        "coqui": _B("tts", "coqui", "assistant.tts.coqui:CoquiTTS",
                    "assistant.tts.coqui:CoquiOptions", ("TTS",), "pip install coqui-tts (see docs/models.md)"),
        "espeak": _B("tts", "espeak", "assistant.tts.espeak:EspeakTTS",
                     "assistant.tts.espeak:EspeakOptions", (), "apt-get install espeak-ng"),
        "pico": _B("tts", "pico", "assistant.tts.pico:PicoTTS",
                   "assistant.tts.pico:PicoOptions", ("py_nanotts",), "pip install py-nanotts"),
        "piper": _B("tts", "piper", "assistant.tts.piper:PiperTTS",
                    "assistant.tts.piper:PiperOptions", ("onnxruntime",), "pip install onnxruntime"),
        "openai": _B("tts", "openai", "assistant.tts.openai:OpenAITTS",
                     "assistant.tts.openai:OpenAITTSOptions", ("httpx",), "pip install httpx"),
    },
}


def names(kind: str) -> list[str]:
    return sorted(BACKENDS[kind])


def get(kind: str, name: str) -> Backend:
    try:
        return BACKENDS[kind][name]
    except KeyError:
        raise ConfigError(
            [f"{kind}.backend: unknown {kind} backend '{name}' (valid: {', '.join(names(kind))})"]
        ) from None
