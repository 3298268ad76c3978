"""Session fixtures for the llm stage (tiny models built in the test session)."""

import pytest


@pytest.fixture(scope="session")
def tiny_llm_path(tmp_path_factory):
    """A random-weight Qwen2 chat model directory (tokenizer + weights), built once per session."""
    from assistant.bench.models.llm import build_causal_lm

    return build_causal_lm(tmp_path_factory.mktemp("tiny_llm"), size="test", seed=0)
