"""Any server that speaks OpenAI's streaming Chat Completions API: Ollama, vLLM, llama.cpp, OpenAI.

Plain httpx instead of the ``openai`` package: one POST and a server-sent-events reader are all
we need, and it lets every failure become one readable line naming the URL. The API key is
read from the environment variable the YAML names; it is never stored in options nor printed.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any, Iterator, Literal, Sequence

from pydantic import Field, field_validator

from assistant.core.errors import LLMConnectionError
from assistant.core.model_entry import ModelEntry, remote_entry
from assistant.core.options import BackendOptions
from assistant.core.remote import api_key, redact, server_message, validate_base_url
from assistant.core.types import Message

log = logging.getLogger(__name__)
WARMUP_CONNECT_S = 3.0  # seconds to connect for the start-up warm-up request
MAX_LINE_BYTES = 1 << 20  # one stream event; a longer line is not a chat completion stream


class OpenAIOptions(BackendOptions):
    backend: Literal["openai"] = Field(
        "openai", description="Talk to an OpenAI-compatible server (Ollama, vLLM, llama.cpp, OpenAI).")
    base_url: str = Field(
        "http://localhost:11434/v1",
        description="API root, up to and including /v1 (Ollama: http://localhost:11434/v1, vLLM: "
                    "http://localhost:8000/v1, OpenAI: https://api.openai.com/v1).")
    model: str = Field("qwen2.5:1.5b", description="Model name as the server knows it (Ollama: `ollama list`).")
    api_key_env: str | None = Field(
        None, description="NAME of the environment variable that holds the API key (e.g. "
                          "OPENAI_API_KEY); the key itself never goes in the YAML. None: no key sent.")
    max_tokens: int = Field(256, ge=1, description="Longest reply, in tokens.")
    temperature: float = Field(0.7, ge=0.0, le=2.0, description="Sampling temperature; 0 = greedy.")
    top_p: float | None = Field(None, gt=0.0, le=1.0,
                                description="Nucleus sampling; none: the server's default.")
    timeout_s: float = Field(
        30.0, gt=0.0, description="Seconds to wait for a connection, for the first token, and "
                                  "between tokens before the turn fails.")
    warmup: bool = Field(
        False, description="Send a one-token request at start-up, so the server has the model in memory "
                           "before the first turn (Ollama loads a model on its first request). A server "
                           "that is down then is not an error: the first turn tries again (and reports it).")
    extra_body: dict[str, Any] = Field(
        default_factory=dict, description="Extra request fields merged into the JSON body, e.g. "
                                          "vLLM's {top_k: 20} or Ollama's {options: {num_ctx: 8192}}.")

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        return validate_base_url(value)


class OpenAILLM:
    def __init__(self, options: OpenAIOptions | None = None, **overrides: Any) -> None:
        if options is None:
            options = OpenAIOptions(**overrides)
        elif overrides:
            options = options.model_copy(update=overrides)
        self.options = options
        self.url = f"{options.base_url}/chat/completions"
        self._key: str | None = None
        self._client: Any = None

    def load(self) -> None:
        """Reads the API key and opens a connection pool; the server need not be up yet."""
        import httpx

        self._key = api_key("llm", self.options.api_key_env)
        # One client for the whole session keeps the connection alive between turns.
        self._client = httpx.Client(timeout=httpx.Timeout(self.options.timeout_s))
        if self.options.warmup:
            self._warmup()

    def _warmup(self) -> None:
        import httpx

        t0 = time.monotonic()
        # A host that drops packets must not hold start-up for the whole timeout_s; loading the
        # model (the point of warming up) may take that long, so only connecting is kept short.
        timeout = httpx.Timeout(self.options.timeout_s, connect=min(WARMUP_CONNECT_S, self.options.timeout_s))
        try:
            for _ in self.stream([Message("user", "Hi")], max_tokens=1, request_timeout=timeout):
                pass
        except LLMConnectionError as e:
            # Not fatal, and not printed: the server may come up before the first turn, and if it
            # doesn't, that turn reports the same problem (one message, spoken in chat).
            log.info("LLM warm-up failed: %s", e)
            return
        log.info("LLM server %s warmed up in %.1f s", self.options.base_url, time.monotonic() - t0)

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def count_tokens(self, text: str) -> int:
        # The server's tokenizer is not available here: about 4 characters per token is the usual
        # estimate for English-like text; history trimming only needs a rough size.
        return len(text) // 4 + 1

    def _request(self, messages: Sequence[Message], max_tokens: int | None = None) -> dict[str, Any]:
        o = self.options
        body: dict[str, Any] = {
            "model": o.model,
            "messages": [m.as_dict() if isinstance(m, Message) else dict(m) for m in messages],
            "max_tokens": max_tokens or o.max_tokens,
            "temperature": o.temperature,
        }
        if o.top_p is not None:
            body["top_p"] = o.top_p
        body.update(o.extra_body)
        body["stream"] = True  # the reader below only speaks SSE
        return body

    def _redact(self, text: str) -> str:
        return redact(text, self._key)

    def _http_error(self, response: Any) -> LLMConnectionError:
        status, o = response.status_code, self.options
        detail = self._redact(server_message(response))
        if status in (401, 403):
            if o.api_key_env:
                hint = f"check the key in the environment variable {o.api_key_env}"
            else:
                hint = "the server wants a key: set llm.api_key_env to the name of the variable that holds it"
            return LLMConnectionError(
                f"the LLM server at {self.url} rejected the API key (HTTP {status}): {detail}", hint)
        if status == 404:
            return LLMConnectionError(
                f"the LLM server at {self.url} answered 404: model '{o.model}' or the endpoint was "
                f"not found: {detail}",
                f"check llm.model (Ollama: `ollama pull {o.model}`) and llm.base_url (usually ends in /v1)")
        return LLMConnectionError(f"the LLM server at {self.url} answered HTTP {status}: {detail}")

    def stream(self, messages: Sequence[Message], *, max_tokens: int | None = None,
               request_timeout: Any = None) -> Iterator[str]:
        """The reply, piece by piece. ``max_tokens`` and ``request_timeout`` (an ``httpx.Timeout``) override
        ``llm.max_tokens`` and ``llm.timeout_s`` for this request."""
        import httpx

        if self._client is None:
            self.load()
        self.finish_reason = None  # "length" when max_tokens cut the reply (see guard_reply)
        headers = {"Accept": "text/event-stream"}
        if self._key:
            headers["Authorization"] = f"Bearer {self._key}"
        timeout = self.options.timeout_s
        try:
            # Leaving the with-block (end, error, or gen.close() on barge-in) closes the response.
            with self._client.stream("POST", self.url, json=self._request(messages, max_tokens),
                                     headers=headers,
                                     timeout=request_timeout or httpx.USE_CLIENT_DEFAULT) as response:
                if response.status_code >= 400:
                    response.read()
                    raise self._http_error(response)
                if response.headers.get("content-type", "").startswith("application/json"):
                    # The server ignored stream=true and sent the whole answer at once.
                    response.read()
                    yield from self._whole_reply(response)
                    return
                yield from self._read_events(response.iter_bytes(), timeout)
        except httpx.ConnectError as e:
            reason = "connection refused" if "refused" in str(e).lower() else str(e) or type(e).__name__
            raise LLMConnectionError(f"cannot reach the LLM server at {self.url}: {reason}",
                                     "is it running? e.g. `ollama serve`, or set llm.base_url") from e
        except httpx.TimeoutException as e:
            raise LLMConnectionError(
                f"the LLM server at {self.url} did not answer within {timeout:g} s",
                "is the model still loading or the machine overloaded? raise llm.timeout_s") from e
        except httpx.HTTPError as e:  # dropped connection, protocol errors
            raise LLMConnectionError(f"the connection to the LLM server at {self.url} failed: "
                                     f"{type(e).__name__}: {e}") from e

    def _lines(self, chunks: Iterator[bytes], timeout: float, clock: list[float]) -> Iterator[str]:
        """Stream lines from raw chunks. A server that trickles bytes without ending a line, or
        sends only keep-alives, fails after ``timeout`` seconds without text (``clock[0]``: when
        text last came), rather than holding the turn (httpx's timeout is per read)."""
        buf = b""
        for chunk in chunks:
            buf += chunk
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                yield line.rstrip(b"\r").decode("utf-8", "replace")
            if len(buf) > MAX_LINE_BYTES:
                raise LLMConnectionError(f"the LLM server at {self.url} sent a stream line longer than "
                                         f"{MAX_LINE_BYTES // 1024} kB", "is llm.base_url an OpenAI-compatible API?")
            if time.monotonic() - clock[0] > timeout:
                raise LLMConnectionError(f"the LLM server at {self.url} sent no text for {timeout:g} s")
        if buf.strip():
            yield buf.decode("utf-8", "replace")

    def _read_events(self, chunks: Iterator[bytes], timeout: float) -> Iterator[str]:
        clock = [time.monotonic()]
        finished = False  # a finish_reason or [DONE] came: the reply is complete
        received = 0
        for line in self._lines(chunks, timeout, clock):
            if not line.startswith("data:"):
                # blank separators, ": keep-alive" comments, event:/id: fields
                if time.monotonic() - clock[0] > timeout:
                    raise LLMConnectionError(f"the LLM server at {self.url} sent no text for {timeout:g} s")
                continue
            data = line[5:].strip()
            if data == "[DONE]":
                finished = True
                break
            try:
                event = json.loads(data)
            except ValueError:
                raise LLMConnectionError(
                    f"the LLM server at {self.url} sent a malformed stream event: {data[:120]!r}",
                    "is llm.base_url an OpenAI-compatible API root (ending in /v1)?") from None
            if isinstance(event, dict) and event.get("error"):
                # vLLM and OpenAI report failures mid-stream as an error event
                error = event["error"]
                message = error.get("message", error) if isinstance(error, dict) else error
                raise LLMConnectionError(f"the LLM server at {self.url} failed mid-reply: "
                                         f"{self._redact(str(message))[:300]}")
            piece, done = self._delta(event)
            finished = finished or done
            if piece:
                received += len(piece)
                yield piece
                clock[0] = time.monotonic()  # from when the caller asks for more
        if not finished:
            raise LLMConnectionError(
                f"the LLM server at {self.url} closed the stream before the reply was complete "
                f"(after {received} characters, without a finish_reason or [DONE])",
                "the server may have crashed or restarted; check its log")
        if not received:
            raise LLMConnectionError(f"the LLM server at {self.url} sent an empty reply",
                                     "check the model name and the server's log")

    def _delta(self, event: Any) -> tuple[str, bool]:
        """(text, finished) of one chunk."""
        try:
            choices = event.get("choices") or []  # usage-only chunks have no choices
            if not choices:
                return "", False
            if choices[0].get("finish_reason"):
                self.finish_reason = choices[0]["finish_reason"]
            return (choices[0].get("delta") or {}).get("content") or "", bool(choices[0].get("finish_reason"))
        except (AttributeError, TypeError, IndexError):
            raise LLMConnectionError(f"the LLM server at {self.url} sent an unexpected stream event: "
                                     f"{json.dumps(event)[:120]}") from None

    def _whole_reply(self, response: Any) -> Iterator[str]:
        try:
            choice = response.json()["choices"][0]
            content = choice["message"]["content"]
            self.finish_reason = choice.get("finish_reason")
        except (ValueError, KeyError, IndexError, TypeError):
            raise LLMConnectionError(f"the LLM server at {self.url} sent an unexpected reply: "
                                     f"{response.text[:120]!r}") from None
        if content:
            yield content


# ----------------------------------------------------------------------------- the model (assistant models)

def model_entry(o: OpenAIOptions, stage: str) -> ModelEntry:
    """Served by another program: nothing here to check or fetch."""
    return remote_entry(o, stage)
