"""The recorded speech in ../shared/audio: tests that need it skip (with the path) where it is absent."""

from pathlib import Path

import pytest

SHARED_AUDIO = Path(__file__).resolve().parents[3] / "shared" / "audio"


def shared_audio(*parts: str) -> Path:
    path = SHARED_AUDIO.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"shared test audio not found: {path}")
    return path


def starter_model(*parts: str) -> Path:
    """A file or directory of the starter model pack; the test skips (with the path) where it is absent.

    Uses ``assistant.models.starter_dir()`` where that exists, else the same rule it follows
    ($ASSISTANT_MODELS or ~/.cache/assistant/models, then ``starter``)."""
    import os

    try:
        from assistant.models import starter_dir  # type: ignore[attr-defined]
        root = Path(starter_dir())
    except ImportError:
        root = Path(os.environ.get("ASSISTANT_MODELS", "~/.cache/assistant/models")).expanduser() / "starter"
    path = root.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"starter model not found: {path} (run `assistant models install starter`)")
    return path
