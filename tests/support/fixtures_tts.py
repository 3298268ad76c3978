"""Session fixtures for the tts stage (tiny models built in the test session)."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def tiny_vits(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(model_path, config_path) of a tiny random-weight Coqui VITS, built once per session."""
    from assistant.bench.models.tts import build_vits

    return build_vits(tmp_path_factory.mktemp("tiny_vits"), size="test", seed=0)
