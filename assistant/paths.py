"""Where models live on disk: the one place this branch knows it.

The models helper's ``assistant.models.starter_dir()`` takes over once merged (used when present).
"""

from __future__ import annotations

import os
from pathlib import Path


def models_root() -> Path:
    """``$ASSISTANT_MODELS``, default ``~/.cache/assistant/models``."""
    return Path(os.environ.get("ASSISTANT_MODELS", "~/.cache/assistant/models")).expanduser()


def starter_dir() -> Path:
    try:
        from assistant.models import starter_dir as shared  # type: ignore[attr-defined]

        return Path(shared())
    except ImportError:
        return models_root() / "starter"
