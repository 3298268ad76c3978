"""Base class for every backend's options (one pydantic model per backend, in the backend's file).

Options are frozen and reject unknown keys, so a typo in YAML is an error at start-up.
Load-time settings (model, device, dtype) sit here; per-turn settings (language, voice) are
passed to each call instead, so a turn can change language without reloading a model.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

Device = Literal["auto", "cpu", "cuda"]


class Section(BaseModel):
    """A top-level YAML section's options: frozen, unknown keys rejected."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class BackendOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, protected_namespaces=())

    backend: str


def resolve_device(device: str) -> str:
    """``auto`` → ``cuda`` when torch sees a GPU, else ``cpu``."""
    if device != "auto":
        if device == "cuda":
            import torch

            if not torch.cuda.is_available():
                from assistant.core.errors import MissingDependencyError

                raise MissingDependencyError(
                    "device 'cuda' was configured but torch sees no CUDA GPU",
                    "set device: auto or cpu, or install a CUDA build of torch (see README)",
                )
        return device
    try:
        import torch
    except ImportError:
        return "cpu"
    return "cuda" if torch.cuda.is_available() else "cpu"
