"""The ``openai`` backend against a server that misbehaves in every way seen in the field: each
fault ends the turn within ``timeout_s`` with one message naming the server, the turn is logged
as failed, and the API key never appears in a message or the log, whatever the server echoes."""

from __future__ import annotations

import json
import time

import pytest

from assistant.config import load_config
from assistant.core.errors import LLMConnectionError
from assistant.core.types import Message
from assistant.llm.openai import OpenAILLM
from assistant.modes.file import Assistant
from assistant.tts.voices import VoiceRouter
from tests.support.fakes import FakeSTT, FakeTTS, LoudnessVAD, tone
from tests.support.fault_server import FaultServer, refused_url

KEY = "sk-fault-test-0123456789abcdef"
TIMEOUT = 1.0
CHAT = [Message("user", "What is the capital of France?")]

# mode → a phrase the message must hold
FAULTS = {
    "refuse": "connection refused",
    "never": f"did not answer within {TIMEOUT:g} s",
    "500": "HTTP 500: CUDA out of memory",
    "401": "rejected the API key",
    "malformed": "malformed stream event",
    "half": "closed the stream before the reply was complete",
    "trickle": f"sent no text for {TIMEOUT:g} s",
    "keepalive": f"sent no text for {TIMEOUT:g} s",
    "empty": "sent an empty reply",
}


@pytest.fixture
def fault(request):
    servers = []

    def start(mode):
        if mode == "refuse":
            return refused_url()
        s = FaultServer(mode, hold_s=TIMEOUT * 5)
        servers.append(s)
        return s.url

    yield start
    for s in servers:
        s.close()


def llm_for(url, monkeypatch):
    monkeypatch.setenv("FAULT_TEST_KEY", KEY)
    llm = OpenAILLM(base_url=url, model="m", api_key_env="FAULT_TEST_KEY", timeout_s=TIMEOUT)
    llm.load()
    return llm


@pytest.mark.parametrize("mode", list(FAULTS))
def test_each_fault_is_one_clear_error_within_the_timeout(fault, monkeypatch, mode):
    url = fault(mode)
    llm = llm_for(url, monkeypatch)
    start = time.monotonic()
    with pytest.raises(LLMConnectionError) as info:
        list(llm.stream(CHAT))
    elapsed = time.monotonic() - start
    message = str(info.value)
    assert elapsed < TIMEOUT + 1.0, f"{mode}: took {elapsed:.1f} s"
    assert f"{url}/chat/completions" in message and FAULTS[mode] in message, message
    assert KEY not in message and KEY not in repr(info.value.args) and "\n" not in message
    assert info.value.stage == "llm"


def test_a_complete_reply_still_works(fault, monkeypatch):
    assert "".join(llm_for(fault("ok"), monkeypatch).stream(CHAT)) == "Paris is the capital of France."


@pytest.mark.parametrize("mode", ["half", "malformed", "401", "trickle"])
def test_a_turn_against_a_faulty_server_is_logged_failed_without_the_key(fault, monkeypatch, tmp_path, mode):
    url = fault(mode)
    log = tmp_path / "turns.jsonl"
    config = load_config(None, [f"log.path={log}", "language.check_reply=false"])
    tts = FakeTTS()
    bot = Assistant(config, FakeSTT(text="What is the capital of France?"), llm_for(url, monkeypatch),
                    VoiceRouter(config.tts, factory=lambda o: tts), vad=LoudnessVAD())
    audio = tone(2.0)
    out = tmp_path / "reply.wav"
    start = time.monotonic()
    with pytest.raises(LLMConnectionError):
        bot.respond(audio, output=out)
    assert time.monotonic() - start < TIMEOUT + 2.0
    (record,) = [json.loads(line) for line in log.read_text().splitlines()]
    assert record["status"] == "failed" and url in record["error"]
    assert KEY not in log.read_text()
    assert not out.exists() and not tts.texts  # file mode speaks nothing of a failed reply...
    assert bot.history.messages("next", None, len)[1:] == [Message("user", "next")]  # ...so remembers nothing
