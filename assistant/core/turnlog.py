"""Append-only JSONL turn log. Each turn is written and fsync'ed the moment it finishes,
so a crash later never loses earlier turns.

Turn ids are unique in the file: every conversation is a session with its own id
(``new_session_id``: the engine's ``Session.id``, one per process in file mode and chat, one per
connection in a server), and a record's ``id`` is ``<session>-<turn number>`` (``session`` and
``turn`` are stored too). A record without a ``session`` gets the log's own.
Records pass through ``secrets.redact``: an API key a server echoed never reaches the file.
"""

from __future__ import annotations

import json
import os
import secrets as _random
import threading
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from assistant.core.errors import AudioFileError
from assistant.core.secrets import redact


def new_session_id() -> str:
    """Sortable by start time, and unique across processes: 20261130T164512-3f9a1c."""
    return f"{datetime.now(timezone.utc):%Y%m%dT%H%M%S}-{_random.token_hex(3)}"


class TurnLog:
    def __init__(self, path: str | Path | None, session: str | None = None) -> None:
        self.path = Path(path) if path else None
        self.session = session or new_session_id()
        self._lock = threading.Lock()
        self._written: set[str] = set()  # a turn stopped at shutdown may be logged by two threads: once

    def append(self, record: dict[str, Any]) -> None:
        if self.path is None:
            return
        number = record.get("id")
        session = record.get("session") or self.session
        record = {"id": f"{session}-{number}", "session": session, "turn": number,
                  **{k: v for k, v in record.items() if k not in ("id", "session")}}
        with self._lock:
            if record["id"] in self._written:
                return
            self._written.add(record["id"])
            self._write(record)

    def _write(self, record: dict[str, Any]) -> None:
        assert self.path is not None
        line = redact(json.dumps(record, ensure_ascii=False, default=str))
        try:
            if self.path.parent and not self.path.parent.exists():
                self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.path, "a+b") as f:
                if f.tell() > 0:  # a line cut short (power loss, kill -9) must not swallow this one
                    f.seek(f.tell() - 1)
                    if f.read(1) != b"\n":
                        line = "\n" + line
                f.write((line + "\n").encode("utf-8"))
                f.flush()
                os.fsync(f.fileno())
        except OSError as e:
            raise AudioFileError(f"cannot write the turn log {self.path}: {e.strerror or e}",
                                 "set log.path to a writable file, or null to disable the log") from None
