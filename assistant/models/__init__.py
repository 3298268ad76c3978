"""Finding, fetching and checking models: the starter pack, hub probes, `assistant models`.

Other code calls these (all cheap to import):

- ``starter_dir()`` — the starter pack's directory;
- ``looks_like_path(name)``, ``is_offline()``, ``hub_reachable(url)`` — see ``hub.py``;
- ``resolve_models(config) -> (config, notes)`` — the configured models, or the starter ones
  where a configured model is missing and can't be fetched (``resolve.py``).
"""

from __future__ import annotations

from typing import Any

from assistant.core.hub import hub_reachable, is_offline, looks_like_path, models_root, starter_dir

__all__ = ["hub_reachable", "is_offline", "looks_like_path", "models_root", "starter_dir", "resolve_models"]


def resolve_models(config: Any) -> tuple[Any, list[str]]:
    from assistant.models.resolve import resolve_models as _resolve

    return _resolve(config)
