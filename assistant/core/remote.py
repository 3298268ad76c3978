"""What every backend that talks to an OpenAI-compatible server shares (``llm``/``stt``/``tts: openai``).

The API key comes from the environment variable the YAML names (never from the YAML, never
printed: ``api_key`` registers it with ``assistant.core.secrets``, which masks it in every message and
turn-log record, whatever a server echoes); HTTP failures become one ``StageError`` line that
names the URL, the status and the server's own message, with the key redacted.
"""

from __future__ import annotations

import json
import os
from contextlib import contextmanager
from typing import Any, Iterator

from assistant.core import secrets
from assistant.core.errors import ConfigError, StageError


def validate_base_url(value: str) -> str:
    """The ``base_url`` field check: http(s), no trailing slash."""
    if not value.startswith(("http://", "https://")):
        raise ValueError("must start with http:// or https://")
    return value.rstrip("/")


def api_key(section: str, env_name: str | None) -> str | None:
    """The key held by the variable ``env_name`` (None when no variable is configured)."""
    if not env_name:
        return None
    key = os.environ.get(env_name, "").strip()
    if not key:
        raise ConfigError(
            [f"{section}.api_key_env: the environment variable {env_name} is not set (or empty)"],
            f"export {env_name}=<your API key>, or remove {section}.api_key_env for a server without keys",
        )
    secrets.register(key)  # never shown in any message or log record, whatever the server echoes
    return key


def server_message(response: Any) -> str:
    """The server's own error text: OpenAI's {error: {message}}, Ollama's {error: str}, FastAPI's {detail}."""
    try:
        body = response.json()
    except ValueError:
        return response.text.strip()[:200]
    if isinstance(body, dict):
        error = body.get("error", body.get("detail", body.get("message")))
        if isinstance(error, dict):
            error = error.get("message", error)
        if error:
            return str(error)[:300]
    return json.dumps(body)[:200]


def redact(text: str, key: str | None) -> str:
    text = text.replace(key, secrets.MASK) if key else text
    return secrets.redact(text)


def http_error(stage: str, what: str, url: str, response: Any, key: str | None,
               key_env: str | None, model: str, section: str | None = None) -> StageError:
    """A 4xx/5xx answer as one line: who answered, the status, the server's reason, how to fix it.
    ``section`` is where the options live in the YAML (default: ``stage``)."""
    status, section = response.status_code, section or stage
    detail = redact(server_message(response), key)
    if status in (401, 403):
        hint = (f"check the key in the environment variable {key_env}" if key_env else
                f"the server wants a key: set {section}.api_key_env to the name of the variable that holds it")
        return StageError(stage, f"the {what} server at {url} rejected the API key (HTTP {status}): {detail}", hint)
    if status == 404:
        return StageError(stage, f"the {what} server at {url} answered 404: model '{model}' or the endpoint "
                                 f"was not found: {detail}",
                          f"check {section}.model and {section}.base_url (usually ends in /v1)")
    return StageError(stage, f"the {what} server at {url} answered HTTP {status}: {detail}")


@contextmanager
def translate_errors(stage: str, what: str, url: str, timeout_s: float,
                     section: str | None = None) -> Iterator[None]:
    """httpx's connection, timeout and protocol errors as one ``StageError`` naming ``url``."""
    import httpx

    section = section or stage
    try:
        yield
    except httpx.ConnectError as e:
        reason = "connection refused" if "refused" in str(e).lower() else str(e) or type(e).__name__
        raise StageError(stage, f"cannot reach the {what} server at {url}: {reason}",
                         f"is it running? check {section}.base_url") from e
    except httpx.TimeoutException as e:
        raise StageError(stage, f"the {what} server at {url} did not answer within {timeout_s:g} s",
                         f"is it overloaded or still loading its model? raise {section}.timeout_s") from e
    except httpx.HTTPError as e:  # dropped connection, protocol errors
        raise StageError(stage, f"the connection to the {what} server at {url} failed: "
                                f"{type(e).__name__}: {e}") from e
