"""The CTranslate2 LLM backend through its real conversion and loading code, on the tiny random model."""

from __future__ import annotations

import json

import pytest

from assistant.config import validate
from assistant.core import registry
from assistant.core.errors import ModelNotFoundError
from assistant.core.types import Message
from assistant.llm.ctranslate2 import CONVERTED_INFO, CTranslate2LLM
from assistant.llm.transformers import TransformersLLM

pytest.importorskip("ctranslate2")
CHAT = [Message("system", "You are a helpful voice assistant."), Message("user", "Hallo, wie geht es dir?")]


@pytest.fixture(scope="module")
def converted(tiny_llm_path, tmp_path_factory):
    root = tmp_path_factory.mktemp("ct2")
    llm = CTranslate2LLM(model=str(tiny_llm_path), converted_dir=str(root), temperature=0,
                         compute_type="float32", max_new_tokens=12)
    llm.load()
    return llm


def test_converts_once_into_the_cache_and_reloads_from_it(converted, tiny_llm_path):
    info = json.loads((converted.model_dir / CONVERTED_INFO).read_text())
    assert info["quantization"] == "float32" and info["end_tokens"]  # <|im_end|> / <|endoftext|>
    assert (converted.model_dir / "model.bin").is_file()
    mtime = (converted.model_dir / "model.bin").stat().st_mtime
    again = CTranslate2LLM(model=str(tiny_llm_path), converted_dir=converted.options.converted_dir,
                           temperature=0, compute_type="float32")
    again.load()
    assert again.model_dir == converted.model_dir
    assert (again.model_dir / "model.bin").stat().st_mtime == mtime  # not converted a second time


def test_float32_greedy_matches_transformers(converted, tiny_llm_path):
    ref = TransformersLLM(model=str(tiny_llm_path), temperature=0, max_new_tokens=12, device="cpu")
    ref.load()
    expected = "".join(ref.stream(CHAT))
    assert "".join(converted.stream(CHAT)) == expected
    assert len(converted.last_token_ids) == 12  # the same 12 greedy tokens, as the same text shows


def test_the_system_message_is_a_cached_static_prompt(converted, monkeypatch):
    """Its tokens go in as CTranslate2's static prompt (state cached across turns), the rest as
    the prompt; the reply is what the whole prompt gave (the transformers test above), also the
    second time, when the cached state is used."""
    seen = []
    real = converted.generator

    class Spy:
        def generate_tokens(self, prompt, **kwargs):
            seen.append((len(prompt), len(kwargs.get("static_prompt") or []), kwargs.get("cache_static_prompt")))
            return real.generate_tokens(prompt, **kwargs)

    plain = "".join(converted.stream(CHAT[1:]))  # no system message: no static prompt
    monkeypatch.setattr(converted, "generator", Spy())
    first, second = "".join(converted.stream(CHAT)), "".join(converted.stream(CHAT))
    assert first == second and plain
    (_, n_static, cached), again = seen[0], seen[1]
    assert n_static > 5 and cached is True and again == seen[0]
    head = converted.tokenizer.apply_chat_template([CHAT[0].as_dict()], return_dict=True)["input_ids"]
    assert n_static == len(head)


def test_closing_the_stream_stops_generation(converted):
    stream = converted.stream(CHAT)
    next(stream)
    stream.close()
    assert len(converted.last_token_ids) < 12
    assert list(converted.stream(CHAT))  # the generator is usable again


def test_int8_default_and_thread_budget(tiny_llm_path, tmp_path):
    llm = CTranslate2LLM(model=str(tiny_llm_path), converted_dir=str(tmp_path), temperature=0.7,
                         max_new_tokens=8, cpu_threads=1)
    llm.load()
    assert json.loads((llm.model_dir / CONVERTED_INFO).read_text())["quantization"] == "int8"
    assert llm.generator.compute_type.startswith("int8") and llm.threads == 1
    assert "".join(llm.stream(CHAT))  # sampled
    assert 1 <= len(llm.last_token_ids) <= 8


def test_missing_model_and_gguf_are_clear(tmp_path, tiny_llm_path):
    with pytest.raises(ModelNotFoundError, match="does not exist"):
        CTranslate2LLM(model=str(tmp_path / "nope") + "/").load()
    with pytest.raises(ModelNotFoundError, match="GGUF file 'x.gguf'"):
        CTranslate2LLM(model=str(tiny_llm_path), gguf_file="x.gguf", converted_dir=str(tmp_path)).load()


def test_registry_and_yaml(tiny_llm_path, tmp_path):
    cfg = validate({"llm": {"backend": "ctranslate2", "model": str(tiny_llm_path), "converted_dir": str(tmp_path),
                            "max_new_tokens": 4}})
    llm = registry.get("llm", "ctranslate2").create(cfg.llm)
    assert isinstance(llm, CTranslate2LLM)
    llm.load()
    assert len(list(llm.stream(CHAT))) <= 4
