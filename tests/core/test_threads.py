"""The per-engine thread budget: defaults add up to the machine, YAML overrides, engines take it."""

from __future__ import annotations

import pytest

from assistant.config import validate
from assistant.core import threads
from assistant.core.errors import ConfigError
from assistant.core.threads import ThreadSettings, plan


@pytest.mark.parametrize("cores, llm, tts, stt", [(1, 1, 1, 1), (2, 1, 1, 2), (8, 7, 1, 8)])
def test_defaults_add_up_to_the_machine(cores, llm, tts, stt):
    b = plan(ThreadSettings(), cores=cores)
    assert (b.total, b.llm, b.tts, b.stt, b.vad, b.smart_turn) == (cores, llm, tts, stt, 1, 1)
    if cores > 1:
        assert b.llm + b.tts == cores  # the replying phase fills the machine, no more
    assert b.torch == b.llm


def test_yaml_section_sets_the_budget_and_torch_follows():
    import torch

    cfg = validate({"threads": {"total": 4, "llm": 3, "stt": 2}})
    before = torch.get_num_threads()
    try:
        b = threads.configure(cfg.threads)
        assert (b.total, b.llm, b.stt, b.tts) == (4, 3, 2, 1)
        assert threads.apply_torch() == 3 and torch.get_num_threads() == 3
        assert threads.budget().as_dict()["torch"] == 3
    finally:
        threads.configure(None)
        torch.set_num_threads(before)


def test_bad_values_are_config_errors():
    with pytest.raises(ConfigError, match="threads"):
        validate({"threads": {"llm": -1}})
    with pytest.raises(ConfigError, match="threads"):
        validate({"threads": {"gpu": 2}})


def test_faster_whisper_takes_the_stt_share(monkeypatch):
    from assistant.stt import faster_whisper

    seen = {}

    class FakeModel:
        def __init__(self, *a, cpu_threads, **k):
            seen["threads"] = cpu_threads

    monkeypatch.setattr("faster_whisper.WhisperModel", FakeModel)
    monkeypatch.setattr(faster_whisper.FasterWhisperSTT, "_resolve_model", lambda self: "x")
    threads.configure(ThreadSettings(stt=1, total=2))
    try:
        faster_whisper.FasterWhisperSTT(faster_whisper.FasterWhisperOptions(device="cpu")).load()
    except Exception:
        pass  # only the constructor call matters here
    finally:
        threads.configure(None)
    assert seen["threads"] == 1
