"""The OpenAI-compatible backend against a small local server speaking streaming Chat Completions."""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from pydantic import ValidationError

from assistant.core.errors import ConfigError, LLMConnectionError
from assistant.core.types import Message
from assistant.llm.openai import OpenAILLM, OpenAIOptions

KEY = "sk-test-secret-123456"
CHAT = [Message("system", "Be brief."), Message("user", "Hola, ¿qué tal?")]
REPLY = ["¡Hola", "! Muy", " bien", ", gracias."]


class FakeServer:
    """Records each request; ``mode`` picks how it answers."""

    def __init__(self) -> None:
        self.mode = "ok"
        self.requests: list[dict] = []
        self.client_gone = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output quiet
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                server.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
                try:
                    getattr(server, "answer_" + server.mode)(self)
                except OSError:  # the client gave up first (timeout tests)
                    pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.httpd.block_on_close = False
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True).start()

    @staticmethod
    def _start_sse(h):
        h.send_response(200)
        h.send_header("Content-Type", "text/event-stream")
        h.end_headers()

    @staticmethod
    def _event(h, payload):
        data = payload if isinstance(payload, str) else json.dumps(payload)
        h.wfile.write(f"data: {data}\n\n".encode())
        h.wfile.flush()

    @staticmethod
    def _chunk(text):
        return {"id": "c1", "object": "chat.completion.chunk", "model": "m",
                "choices": [{"index": 0, "delta": {"content": text}, "finish_reason": None}]}

    def answer_ok(self, h):
        self._start_sse(h)
        self._event(h, {"choices": [{"index": 0, "delta": {"role": "assistant"}}]})
        h.wfile.write(b": keep-alive comment\n\n")
        for piece in REPLY:
            self._event(h, self._chunk(piece))
        self._event(h, {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
        self._event(h, "[DONE]")

    def answer_slow(self, h):
        time.sleep(2)
        self.answer_ok(h)

    def answer_endless(self, h):
        self._start_sse(h)
        try:
            for _ in range(1000):
                self._event(h, self._chunk("la "))
                time.sleep(0.01)
        except OSError:  # the client hung up
            self.client_gone.set()

    def answer_malformed(self, h):
        self._start_sse(h)
        self._event(h, self._chunk("ok"))
        self._event(h, "{not json")

    def _json_error(self, h, status, message):
        body = json.dumps({"error": {"message": message, "type": "invalid_request_error"}}).encode()
        h.send_response(status)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)

    def answer_401(self, h):
        # Like OpenAI, echo (part of) the key back: the client must not repeat it.
        self._json_error(h, 401, f"Incorrect API key provided: {KEY}")

    def answer_404(self, h):
        self._json_error(h, 404, "model not found")

    def answer_500(self, h):
        self._json_error(h, 500, "CUDA out of memory on the server")

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    s = FakeServer()
    yield s
    s.close()


def make(server, **kw):
    llm = OpenAILLM(base_url=server.url, model="qwen2.5:1.5b", **kw)
    llm.load()
    return llm


def test_streams_and_sends_the_request(server, monkeypatch):
    monkeypatch.setenv("MY_LLM_KEY", KEY)
    llm = make(server, api_key_env="MY_LLM_KEY", temperature=0.3, top_p=0.8, max_tokens=64,
               extra_body={"options": {"num_ctx": 4096}})
    pieces = list(llm.stream(CHAT))
    assert pieces == REPLY
    (request,) = server.requests
    assert request["path"] == "/v1/chat/completions"
    assert request["headers"]["Authorization"] == f"Bearer {KEY}"
    body = request["body"]
    assert body["model"] == "qwen2.5:1.5b" and body["stream"] is True
    assert body["messages"] == [m.as_dict() for m in CHAT]
    assert body["temperature"] == 0.3 and body["top_p"] == 0.8 and body["max_tokens"] == 64
    assert body["options"] == {"num_ctx": 4096}


def test_no_key_no_header_and_no_top_p(server):
    list(make(server).stream(CHAT))
    request = server.requests[0]
    assert "Authorization" not in request["headers"] and "top_p" not in request["body"]


def test_closing_the_generator_closes_the_response(server):
    server.mode = "endless"
    gen = make(server, timeout_s=5).stream(CHAT)
    assert next(gen) == "la "
    gen.close()  # barge-in
    assert server.client_gone.wait(5)


def test_refused_port_names_the_url():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens there now
    llm = OpenAILLM(base_url=f"http://127.0.0.1:{port}/v1")
    llm.load()  # the server need not be up to load
    with pytest.raises(LLMConnectionError) as info:
        list(llm.stream(CHAT))
    message = str(info.value)
    assert f"http://127.0.0.1:{port}/v1/chat/completions" in message
    assert "connection refused" in message and "ollama serve" in message
    assert info.value.stage == "llm"


def test_warmup_sends_a_one_token_request_at_load(server):
    llm = make(server, warmup=True)
    assert len(server.requests) == 1 and server.requests[0]["body"]["max_tokens"] == 1
    assert "".join(llm.stream(CHAT)) == "".join(REPLY)
    assert server.requests[1]["body"]["max_tokens"] == 256  # turns keep llm.max_tokens


def test_warmup_against_a_server_that_is_down_is_not_an_error(caplog):
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    llm = OpenAILLM(base_url=f"http://127.0.0.1:{port}/v1", warmup=True)
    with caplog.at_level(logging.INFO, logger="assistant.llm.openai"):
        llm.load()  # chat still starts; the first turn reports it (one message, not two)
    (record,) = [r for r in caplog.records if "warm-up" in r.getMessage()]
    assert record.levelno == logging.INFO and "connection refused" in record.getMessage()
    with pytest.raises(LLMConnectionError, match="connection refused"):
        list(llm.stream(CHAT))


def test_timeout(server):
    server.mode = "slow"
    start = time.monotonic()
    with pytest.raises(LLMConnectionError, match=r"did not answer within 0.5 s"):
        list(make(server, timeout_s=0.5).stream(CHAT))
    assert time.monotonic() - start < 1.8


def test_rejected_key_names_the_variable_not_the_key(server, monkeypatch):
    server.mode = "401"
    monkeypatch.setenv("MY_LLM_KEY", KEY)
    with pytest.raises(LLMConnectionError) as info:
        list(make(server, api_key_env="MY_LLM_KEY").stream(CHAT))
    message = str(info.value)
    assert "MY_LLM_KEY" in message and "401" in message
    assert KEY not in message and KEY not in repr(info.value.args)


def test_404_names_the_model(server):
    server.mode = "404"
    with pytest.raises(LLMConnectionError) as info:
        list(make(server).stream(CHAT))
    assert "qwen2.5:1.5b" in str(info.value) and "404" in str(info.value)


def test_other_http_errors_carry_the_server_message(server):
    server.mode = "500"
    with pytest.raises(LLMConnectionError, match="HTTP 500: CUDA out of memory on the server"):
        list(make(server).stream(CHAT))


def test_malformed_stream(server):
    server.mode = "malformed"
    gen = make(server).stream(CHAT)
    assert next(gen) == "ok"
    with pytest.raises(LLMConnectionError, match="malformed"):
        next(gen)


def test_unset_key_variable_fails_at_load(monkeypatch):
    monkeypatch.delenv("NO_SUCH_KEY_VAR", raising=False)
    with pytest.raises(ConfigError, match="NO_SUCH_KEY_VAR"):
        OpenAILLM(api_key_env="NO_SUCH_KEY_VAR").load()


def test_options():
    opts = OpenAIOptions(base_url="http://localhost:8000/v1/")
    assert opts.base_url == "http://localhost:8000/v1"
    assert OpenAILLM(opts).url == "http://localhost:8000/v1/chat/completions"
    with pytest.raises(ValidationError):
        OpenAIOptions(base_url="localhost:11434")
    with pytest.raises(ValidationError):
        OpenAIOptions(api_key="sk-...")  # keys never go in the YAML: unknown field
    assert all(f.description for f in OpenAIOptions.model_fields.values())
    assert OpenAILLM().count_tokens("a" * 40) == 11
