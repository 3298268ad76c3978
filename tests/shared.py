"""The recorded speech in ../shared/audio: tests that need it skip (with the path) where it is absent."""

from pathlib import Path

import pytest

SHARED_AUDIO = Path(__file__).resolve().parents[2] / "shared" / "audio"


def shared_audio(*parts: str) -> Path:
    path = SHARED_AUDIO.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"shared test audio not found: {path}")
    return path
