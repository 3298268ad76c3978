"""The ``server:`` section: where `assistant serve` listens, its limits and its API key."""

from __future__ import annotations

from pydantic import Field

from assistant.options import Section


class ServerSettings(Section):
    host: str = Field("127.0.0.1", description="Address to listen on (loopback by default; 0.0.0.0 for all).")
    port: int = Field(8000, ge=1, le=65535, description="TCP port.")
    api_key_env: str | None = Field(
        None, description="Name of an environment variable holding the API key clients must send "
                          "(`Authorization: Bearer KEY`); null or unset variable: no key required.")
    max_sessions: int = Field(32, ge=1, description="Realtime connections served at once; more are refused.")
    max_message_bytes: int = Field(
        2_000_000, ge=1024, description="Largest WebSocket message or uploaded file accepted (bytes).")
    max_turn_audio_s: float = Field(60.0, gt=0, description="Longest user audio buffered for one turn (seconds).")
