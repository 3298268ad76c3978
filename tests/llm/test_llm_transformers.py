"""The transformers LLM backend, loaded and run through the user's code path on a tiny random model."""

from __future__ import annotations

import shutil
import sys
import time

import pytest
from pydantic import ValidationError

from assistant.core.errors import AssistantError, ModelNotFoundError
from assistant.core.types import Message
from assistant.llm.transformers import TransformersLLM, TransformersOptions, _IncrementalDecoder

CHAT = [Message("system", "You are a helpful voice assistant."), Message("user", "Hallo, wie geht es dir?")]


@pytest.fixture(scope="module")
def greedy(tiny_llm_path):
    llm = TransformersLLM(model=str(tiny_llm_path), temperature=0, max_new_tokens=12, device="cpu")
    llm.load()
    return llm


class ForwardInputs:
    """Stands in for the model inside the backend and notes each forward pass's input ids: after the
    prompt, each is the token the step before generated (the backend itself keeps no such record)."""

    def __init__(self, model) -> None:
        self._model, self.calls = model, []

    def __getattr__(self, name):
        return getattr(self._model, name)

    def __call__(self, *args, input_ids, **kwargs):
        self.calls.append(input_ids[0].tolist())
        return self._model(*args, input_ids=input_ids, **kwargs)


def run(llm, chat=CHAT) -> tuple[list[str], int, list[int]]:
    """(pieces, forward passes = tokens generated incl. an end token, the generated ids fed back)."""
    llm.model = recorder = ForwardInputs(llm.model)
    try:
        pieces = list(llm.stream(chat))
    finally:
        llm.model = recorder._model
    return pieces, len(recorder.calls), [ids[0] for ids in recorder.calls[1:]]


def test_module_import_does_not_import_torch():
    import subprocess

    code = ("import sys, assistant.llm.transformers as m; m.TransformersOptions(); m.TransformersLLM(); "
            "print('torch' in sys.modules, 'transformers' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_stream_yields_text_within_max_new_tokens(greedy):
    pieces, steps, _ = run(greedy)
    assert pieces and all(isinstance(p, str) and p for p in pieces)
    # one piece per token at most (a split character is held back, then joined);
    # random weights rarely pick an end token: this prompt runs to the limit
    assert len(pieces) <= steps == 12
    assert greedy.device == "cpu" and str(greedy.model.dtype) == "torch.float32"


def test_greedy_is_deterministic(greedy):
    assert list(greedy.stream(CHAT)) == list(greedy.stream(CHAT))


def test_seeded_sampling_is_reproducible(tiny_llm_path):
    def run(seed):
        llm = TransformersLLM(model=str(tiny_llm_path), temperature=1.0, top_p=0.95,
                              repetition_penalty=1.2, seed=seed, max_new_tokens=16)
        llm.load()
        return "".join(llm.stream(CHAT))

    assert run(1) == run(1)


def test_stops_at_any_eos_id(greedy):
    pieces, _, ids = run(greedy)
    full = "".join(pieces)
    # Declare the fourth generated token an end token: the reply must stop just before it.
    saved = set(greedy._eos_ids)
    try:
        greedy._eos_ids = saved | {ids[3]}
        pieces, _, short_ids = run(greedy)
        short = "".join(pieces)
        assert short_ids == ids[:ids.index(ids[3])]
    finally:
        greedy._eos_ids = saved
    assert full.startswith(short) and len(short) < len(full)


def test_eos_ids_include_generation_config_list(greedy):
    tok = greedy.tokenizer
    assert greedy._eos_ids == {tok.convert_tokens_to_ids("<|im_end|>"), tok.convert_tokens_to_ids("<|endoftext|>")}


def test_closing_the_generator_stops_generation(tiny_llm_path):
    llm = TransformersLLM(model=str(tiny_llm_path), temperature=0, max_new_tokens=200)
    llm.load()
    calls = []
    handle = llm.model.register_forward_hook(lambda *a: calls.append(1))
    try:
        gen = llm.stream(CHAT)
        next(gen)
        next(gen)
        gen.close()  # what barge-in does
        after_close = len(calls)
        with pytest.raises(StopIteration):
            next(gen)
    finally:
        handle.remove()
    assert after_close <= 3 and len(calls) == after_close


def test_count_tokens_uses_the_tokenizer(greedy):
    text = "Hallo übermorgen, ¿qué tal?"
    assert greedy.count_tokens(text) == len(greedy.tokenizer.encode(text, add_special_tokens=False))
    assert greedy.count_tokens("") == 0


def test_incremental_decoder_holds_back_split_characters(greedy):
    text = "日本 übermorgen ¿Qué? ça"
    decoder = _IncrementalDecoder(greedy.tokenizer)
    pieces = [decoder.push(i) for i in greedy.tokenizer.encode(text, add_special_tokens=False)]
    pieces.append(decoder.flush())
    assert "".join(pieces) == text
    assert not any("\ufffd" in p for p in pieces)


def test_warmup_and_kwargs_construction(tiny_llm_path):
    opts = TransformersOptions(model=str(tiny_llm_path), warmup=True, dtype="float32")
    llm = TransformersLLM(opts)
    assert llm.model is None  # constructing is cheap: nothing loaded yet
    llm.load()
    assert llm.model is not None


def test_missing_local_directory(tmp_path):
    missing = tmp_path / "no-such-model"
    with pytest.raises(ModelNotFoundError) as info:
        TransformersLLM(model=str(missing)).load()
    assert str(missing) in str(info.value)


def test_unknown_hub_id_offline_fails_fast_naming_the_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    start = time.monotonic()
    with pytest.raises(ModelNotFoundError) as info:
        TransformersLLM(model="nobody/no-such-model", cache_dir=str(tmp_path / "hf")).load()
    assert time.monotonic() - start < 5
    message = str(info.value)
    assert "nobody/no-such-model" in message and str(tmp_path / "hf") in message
    assert "hf download nobody/no-such-model" in message and "HF_HUB_OFFLINE" in message


def test_unknown_hub_id_default_cache_is_named(monkeypatch):
    from huggingface_hub import constants

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelNotFoundError) as info:
        TransformersLLM(model="nobody/no-such-model").load()
    assert constants.HF_HUB_CACHE in str(info.value)


def test_tokenizer_without_chat_template_is_refused(tiny_llm_path, tmp_path):
    import json

    base = tmp_path / "base-model"
    shutil.copytree(tiny_llm_path, base)
    (base / "chat_template.jinja").unlink(missing_ok=True)
    config = json.loads((base / "tokenizer_config.json").read_text())
    config.pop("chat_template", None)
    (base / "tokenizer_config.json").write_text(json.dumps(config))
    with pytest.raises(AssistantError, match="chat template"):
        TransformersLLM(model=str(base)).load()


def test_options_validate():
    with pytest.raises(ValidationError):
        TransformersOptions(backend="transformers", modle="x")  # typo: unknown key
    with pytest.raises(ValidationError):
        TransformersOptions(temperature=-1)
    with pytest.raises(ValidationError):
        TransformersOptions(dtype="float8")
    opts = TransformersOptions()
    assert opts.model == "Qwen/Qwen2.5-1.5B-Instruct" and opts.device == "auto"
    assert all(f.description for f in TransformersOptions.model_fields.values())


def test_unreachable_hub_fails_fast_without_retries(monkeypatch):
    # Online mode but no route to the hub: one quick probe, then the cache, never ~45 s of retries.
    from huggingface_hub import constants

    import assistant.llm.transformers as backend

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(backend.hub, "hub_reachable", lambda *a, **k: False)
    start = time.monotonic()
    with pytest.raises(ModelNotFoundError, match="unreachable"):
        TransformersLLM(model="nobody/no-such-model").load()
    assert time.monotonic() - start < 5


def test_caller_code_between_pieces_runs_outside_inference_mode(greedy):
    import torch

    gen = greedy.stream(CHAT)
    next(gen)
    assert not torch.is_inference_mode_enabled()
    gen.close()


def test_generation_errors_become_stage_errors(tiny_llm_path, monkeypatch):
    from assistant.core.errors import StageError

    llm = TransformersLLM(model=str(tiny_llm_path), temperature=0, max_new_tokens=4)
    llm.load()

    def broken(*args, **kwargs):
        raise RuntimeError("CUDA out of memory")

    monkeypatch.setattr(llm, "model", broken)
    with pytest.raises(StageError, match="generation failed") as info:
        list(llm.stream(CHAT))
    assert info.value.stage == "llm" and info.value.hint
