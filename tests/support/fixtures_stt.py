"""Session fixtures for the stt stage (tiny models built in the test session)."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def tiny_whisper_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A random-weight whisper checkpoint (the "test" size, ~14 MB), built once per session."""
    from assistant.bench.models.whisper import build_whisper_checkpoint

    return build_whisper_checkpoint(tmp_path_factory.mktemp("whisper") / "test.pt", size="test")
