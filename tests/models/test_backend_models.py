"""Each backend owns its model knowledge: a new backend is one module and one registry row.

This file is such a module: ``FakeVoiceTTS`` with its options, ``model_entry`` and ``fetch`` (a voice
"downloaded" by writing a file). The tests add its one registry row and check that ``assistant
models list`` and ``pull`` reach it, and nothing else in the package is told about it.
"""

from __future__ import annotations

import json
import sys
import types
from pathlib import Path
from typing import Iterator, Literal

import pytest

from assistant.cli import main
from assistant.core import hub, registry
from assistant.core.model_entry import ModelEntry, entry
from assistant.core.options import BackendOptions
from assistant.core.types import AudioChunk

FAKE_HUB = "https://voices.example"
FETCHED: list[str] = []


class FakeVoiceOptions(BackendOptions):
    backend: Literal["fakevoice"] = "fakevoice"
    model: str = "calm"
    cache_dir: str = "."


class FakeVoiceTTS:  # only its model is used here: the tests never load it
    def __init__(self, options: FakeVoiceOptions) -> None:
        self.options = options

    def load(self) -> None:
        pass

    def supports(self, language: str) -> bool:
        return language == "en"

    def synthesize(self, text: str, language: str) -> Iterator[AudioChunk]:
        raise NotImplementedError


def model_entry(o: FakeVoiceOptions, stage: str) -> ModelEntry:
    path = Path(o.cache_dir) / f"{o.model}.voice"
    return entry(stage, "fakevoice", o.model, path, path.is_file(), False, FAKE_HUB)


def fetch(e: ModelEntry, options: FakeVoiceOptions) -> str:
    FETCHED.append(e.name)
    Path(e.location).write_bytes(b"a voice")
    return e.location


@pytest.fixture
def fake_backend(monkeypatch, tmp_path):
    """The one registry row; the hub answers; the starter pack is elsewhere."""
    row = registry.Backend("tts", "fakevoice", f"{__name__}:FakeVoiceTTS", f"{__name__}:FakeVoiceOptions")
    monkeypatch.setitem(registry.BACKENDS["tts"], "fakevoice", row)
    monkeypatch.setenv("ASSISTANT_MODELS", str(tmp_path / "models"))
    monkeypatch.setattr(hub, "unreachable_reason", lambda url=None, timeout=None: None)
    FETCHED.clear()
    yield row
    FETCHED.clear()


def _config(tmp_path: Path, voices: str) -> Path:
    cfg = tmp_path / "fake.yaml"
    cfg.write_text("stt: {backend: openai}\nllm: {backend: openai}\n"
                   f"tts: {{voices: {{{voices}}}, fallback: {{backend: espeak}}}}\n")
    return cfg


def test_models_list_and_pull_reach_a_new_backends_own_model_knowledge(fake_backend, tmp_path, capsys):
    cfg = _config(tmp_path, f"en: {{backend: fakevoice, model: calm, cache_dir: {tmp_path}}}")
    assert main(["models", "list", "--json", "-c", str(cfg)]) == 4
    rows = {r["stage"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows["tts:en"]["backend"] == "fakevoice" and rows["tts:en"]["status"] == "missing"
    assert rows["tts:en"]["location"] == str(tmp_path / "calm.voice") and rows["tts:en"]["hub_url"] == FAKE_HUB
    assert rows["stt"]["status"] == rows["llm"]["status"] == "remote"

    assert main(["models", "pull", "-c", str(cfg)]) == 0
    out = capsys.readouterr().out
    assert FETCHED == ["calm"] and f"from {FAKE_HUB}" in out and str(tmp_path / "calm.voice") in out

    assert main(["models", "list", "--json", "-c", str(cfg)]) == 0
    rows = {r["stage"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows["tts:en"]["status"] == "present" and rows["tts:en"]["size"] == len(b"a voice")
    assert main(["models", "pull", "-c", str(cfg)]) == 0  # nothing left to fetch
    assert FETCHED == ["calm"]


def test_a_failed_fetch_is_reported_per_model(fake_backend, tmp_path, monkeypatch, capsys):
    def broken(e: ModelEntry, options: FakeVoiceOptions) -> str:
        raise OSError("disk full")

    monkeypatch.setattr(sys.modules[__name__], "fetch", broken)
    cfg = _config(tmp_path, f"en: {{backend: fakevoice, model: calm, cache_dir: {tmp_path}}}")
    assert main(["models", "pull", "-c", str(cfg)]) == 4
    assert "tts:en: calm: OSError: disk full" in capsys.readouterr().err


def test_a_backend_without_the_protocol_gets_the_generic_entry(monkeypatch, tmp_path):
    """A module that defines neither function: a ``model`` that is a path is checked, anything
    else is reported as managed by the backend; nothing to download."""
    from assistant.models.inventory import entry_for

    module = types.ModuleType("plain_voice_backend")
    module.FakeVoiceTTS, module.FakeVoiceOptions = FakeVoiceTTS, FakeVoiceOptions
    monkeypatch.setitem(sys.modules, module.__name__, module)
    row = registry.Backend("tts", "fakevoice", f"{module.__name__}:FakeVoiceTTS",
                           f"{module.__name__}:FakeVoiceOptions")
    monkeypatch.setitem(registry.BACKENDS["tts"], "fakevoice", row)

    named = entry_for(FakeVoiceOptions(model="calm"), "tts:en")
    assert (named.location, named.present, named.local) == ("(managed by the backend)", True, False)
    path = entry_for(FakeVoiceOptions(model=str(tmp_path / "nope.voice")), "tts:en")
    assert (path.present, path.local, path.status) == (False, True, "missing")
    (tmp_path / "nope.voice").write_bytes(b"x")
    assert entry_for(FakeVoiceOptions(model=str(tmp_path / "nope.voice")), "tts:en").present
    with pytest.raises(ValueError, match="no download for backend fakevoice"):
        row.fetch(named, FakeVoiceOptions())


def test_each_shipped_backend_answers_for_its_own_models():
    """The backends that keep models in a cache say where and how to fetch them; ``openai`` is
    a remote server for each kind (three rows, three modules, one answer)."""
    from assistant.models.inventory import entry_for

    for kind, name in (("stt", "whisper"), ("stt", "faster-whisper"), ("llm", "transformers"),
                       ("llm", "ctranslate2"), ("tts", "coqui"), ("tts", "piper")):
        row = registry.get(kind, name)
        assert callable(row._module_function("model_entry")) and callable(row._module_function("fetch")), name
    for kind in ("stt", "llm", "tts"):
        opts = registry.get(kind, "openai").options_class().model_validate({"backend": "openai"})
        e = entry_for(opts, kind if kind != "tts" else "tts:en")
        assert e.remote and e.status == "remote" and e.location.startswith("http")


def test_the_shipped_fetches_call_their_librarys_own_downloader(monkeypatch, tmp_path):
    """``models pull``'s dispatch reaches each shipped backend's ``fetch``, which hands the model to
    the library's downloader (replaced here: no hub is reached)."""
    import faster_whisper.utils
    import huggingface_hub
    import whisper

    from assistant.models.inventory import entry_for, fetch
    from assistant.tts import piper

    calls: list[tuple] = []
    monkeypatch.setattr(whisper, "_download", lambda url, root, in_memory: calls.append(("whisper", url, root)))
    monkeypatch.setattr(faster_whisper.utils, "download_model",
                        lambda name, cache_dir=None: calls.append(("faster-whisper", name, cache_dir)) or "fw")
    monkeypatch.setattr(huggingface_hub.HfApi, "list_repo_files", lambda self, repo, revision=None: ["a.safetensors"])
    monkeypatch.setattr(huggingface_hub, "snapshot_download",
                        lambda repo, revision=None, cache_dir=None, ignore_patterns=(): calls.append(
                            ("hf", repo, cache_dir, "*.bin" in ignore_patterns)) or "snap")
    monkeypatch.setattr(piper, "_download", lambda name: calls.append(("piper", name)) or tmp_path / "v.onnx")

    def pulled(kind: str, stage: str, spec: dict) -> str:
        opts = registry.get(kind, spec["backend"]).options_class().model_validate(spec)
        e = entry_for(opts, stage)
        assert not e.present and not e.local and e.hub_url
        return fetch(e, opts)

    root = tmp_path / "whisper"
    assert pulled("stt", "stt", {"backend": "whisper", "model": "small", "download_root": str(root)}) == \
        str(root / "small.pt")
    assert calls.pop() == ("whisper", whisper._MODELS["small"], str(root))
    assert pulled("stt", "stt", {"backend": "faster-whisper", "model": "tiny", "download_root": str(tmp_path)}) == "fw"
    assert calls.pop() == ("faster-whisper", "tiny", str(tmp_path))
    for backend in ("transformers", "ctranslate2"):
        spec = {"backend": backend, "model": "nobody/no-such-model", "cache_dir": str(tmp_path)}
        assert pulled("llm", "llm", spec) == "snap"
        assert calls.pop() == ("hf", "nobody/no-such-model", str(tmp_path), True)
    assert pulled("tts", "tts:de", {"backend": "piper", "model": "de_DE-nobody-medium"}) == str(tmp_path / "v.onnx")
    assert calls.pop() == ("piper", "de_DE-nobody-medium")
