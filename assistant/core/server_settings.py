"""The ``server:`` section: where `assistant serve` listens, its limits and its API key."""

from __future__ import annotations

from pydantic import Field

from assistant.core.options import Section


class ServerSettings(Section):
    host: str = Field("127.0.0.1", description="Address to listen on (loopback by default; 0.0.0.0 for all).")
    port: int = Field(8000, ge=1, le=65535, description="TCP port.")
    api_key_env: str | None = Field(
        None, description="Name of an environment variable holding the API key clients must send "
                          "(`Authorization: Bearer KEY`); null or unset variable: no key required.")
    max_sessions: int = Field(32, ge=1, description="Realtime connections served at once; more are refused.")
    max_message_bytes: int = Field(
        2_000_000, ge=1024, description="Largest WebSocket message or uploaded file accepted (bytes); a "
                                            "larger request body is refused while it arrives.")
    max_turn_audio_s: float = Field(
        60.0, gt=0, description="Longest user audio of one turn (seconds): the realtime buffer, an utterance under "
                                "server VAD (cut there), an upload (refused, decoding stops there).")
    max_text_chars: int = Field(
        4000, ge=1, description="Longest user text accepted for one realtime turn (characters).")
    max_queued_turns: int = Field(
        4, ge=1, description="Turns one realtime connection may have waiting behind the running one.")
    allowed_hosts: list[str] = Field(
        default_factory=list,
        description="Host names clients may reach the server by, besides loopback (localhost, 127.0.0.1, ::1) and "
                    "server.host; every request's Host header is checked (DNS rebinding). '*.example.com' "
                    "matches subdomains; ['*'] turns the check off.")
    allowed_origins: list[str] = Field(
        default_factory=list,
        description="Web origins (scheme://host:port) whose pages may call the server, besides loopback "
                    "origins and the server's own; a request with another Origin is refused. ['*'] allows any.")
