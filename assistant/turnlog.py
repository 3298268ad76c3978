"""Append-only JSONL turn log. Each turn is written and fsync'ed the moment it finishes,
so a crash later never loses earlier turns."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from assistant.errors import AssistantError


class TurnLog:
    def __init__(self, path: str | Path | None) -> None:
        self.path = Path(path) if path else None

    def append(self, record: dict[str, Any]) -> None:
        if self.path is None:
            return
        line = json.dumps(record, ensure_ascii=False, default=str)
        try:
            if self.path.parent and not self.path.parent.exists():
                self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.path, "a", encoding="utf-8") as f:
                f.write(line + "\n")
                f.flush()
                os.fsync(f.fileno())
        except OSError as e:
            raise AssistantError(f"cannot write the turn log {self.path}: {e.strerror or e}",
                                 "set log.path to a writable file, or null to disable the log") from None
