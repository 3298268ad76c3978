"""Every event `assistant serve` sends validates against the `openai` package's own server-event
union (what strict clients such as the OpenAI Agents SDK check, dropping what fails), across full
sessions: an audio turn, a text turn, server VAD with barge-in, a cancelled response, errors. And
the Agents SDK's RealtimeRunner against `serve`, end to end. Tiny random-weight models: the
protocol, not the answers."""

from __future__ import annotations

import base64
import json
import time

import pytest

from tests.modes.server.test_server import KEY, pcm24, server  # noqa: F401  (the module's server fixture)
from tests.support.shared import shared_audio

pytest.importorskip("openai")
websockets_sync = pytest.importorskip("websockets.sync.client")


@pytest.fixture(scope="module")
def server_event():
    from openai.types.realtime import RealtimeServerEvent
    from pydantic import TypeAdapter

    return TypeAdapter(RealtimeServerEvent)


class Recorder:
    """A raw connection that keeps every event it receives."""

    def __init__(self, addr: str) -> None:
        self.ws = websockets_sync.connect(f"ws://{addr}/v1/realtime",
                                          additional_headers={"Authorization": f"Bearer {KEY}"}, max_size=None)
        self.events: list[dict] = []

    def send(self, event: dict) -> None:
        self.ws.send(json.dumps(event))

    def until(self, kind: str, timeout: float = 120) -> dict:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            event = json.loads(self.ws.recv(timeout=max(0.1, end - time.monotonic())))
            self.events.append(event)
            if event["type"] == kind:
                return event
        raise AssertionError(f"no {kind}; got {[e['type'] for e in self.events]}")

    def append(self, pcm: bytes) -> None:
        for i in range(0, len(pcm), 9600):
            self.send({"type": "input_audio_buffer.append", "audio": base64.b64encode(pcm[i:i + 9600]).decode()})

    def say(self, text: str) -> None:
        self.send({"type": "conversation.item.create", "item": {
            "type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}})
        self.send({"type": "response.create"})


def check_all(events: list[dict], adapter) -> set[str]:
    for event in events:
        try:
            adapter.validate_python(event)
        except Exception as e:  # pydantic's message names the missing or wrong field
            raise AssertionError(f"{event['type']} does not validate: {str(e)[:600]}\n"
                                 f"{json.dumps(event)[:600]}") from None
    return {e["type"] for e in events}


def test_every_event_of_full_sessions_validates_against_the_sdk(server, server_event):  # noqa: F811
    kinds: set[str] = set()
    # 1. an audio turn, committed by the client
    rec = Recorder(server[0])
    rec.until("session.created")
    rec.send({"type": "session.update", "session": {"type": "realtime", "audio": {"input": {"turn_detection": None}}}})
    rec.until("session.updated")
    rec.append(pcm24(shared_audio("jfk.flac")))
    rec.send({"type": "input_audio_buffer.commit"})
    done = rec.until("response.done")
    assert done["response"]["status"] == "completed"
    # 2. a text turn on the same connection, then a cancelled one
    rec.say("What is the capital of France?")
    rec.until("response.done")
    rec.say("Tell me a long story about a dragon.")
    rec.until("response.created")
    rec.send({"type": "response.cancel"})
    assert rec.until("response.done")["response"]["status"] in ("cancelled", "completed")
    # 3. errors of every kind
    for bad in ("{nope", json.dumps({"type": "x" * 5000}), json.dumps({"type": "conversation.item.create", "item": 1}),
                json.dumps({"type": "input_audio_buffer.commit"}), json.dumps({"type": "response.create"})):
        rec.ws.send(bad)
        rec.until("error")
    rec.send({"type": "input_audio_buffer.clear"})
    rec.until("input_audio_buffer.cleared")
    rec.ws.close()
    kinds |= check_all(rec.events, server_event)
    # 4. server VAD with a barge-in
    rec = Recorder(server[0])
    rec.until("session.created")
    silence = bytes(2 * 24000)
    rec.append(pcm24(shared_audio("fleurs", "fleurs-en-004.ogg")) + silence)
    rec.until("response.output_audio.delta")
    rec.append(pcm24(shared_audio("fleurs", "fleurs-en-003.ogg")) + silence)
    assert rec.until("response.done")["response"]["status"] == "cancelled"
    rec.ws.close()
    kinds |= check_all(rec.events, server_event)
    assert {"session.created", "session.updated", "input_audio_buffer.committed", "input_audio_buffer.cleared",
            "input_audio_buffer.speech_started", "input_audio_buffer.speech_stopped", "conversation.item.added",
            "conversation.item.done", "conversation.item.input_audio_transcription.completed", "response.created",
            "response.output_item.added", "response.content_part.added", "response.output_audio.delta",
            "response.output_audio_transcript.delta", "response.output_audio.done",
            "response.output_audio_transcript.done", "response.content_part.done", "response.output_item.done",
            "response.done", "error"} <= kinds, kinds


def test_the_user_transcript_and_item_ids_line_up(server):  # noqa: F811
    """What a strict client keys its history on: the committed item is the one added, transcribed
    and done; the assistant's item is announced before its deltas."""
    rec = Recorder(server[0])
    rec.until("session.created")
    rec.send({"type": "session.update", "session": {"audio": {"input": {"turn_detection": None}}}})
    rec.append(pcm24(shared_audio("jfk.flac")))
    rec.send({"type": "input_audio_buffer.commit"})
    rec.until("response.done")
    rec.ws.close()
    by_type: dict[str, list[dict]] = {}
    for e in rec.events:
        by_type.setdefault(e["type"], []).append(e)
    item = by_type["input_audio_buffer.committed"][0]["item_id"]
    added = [e["item"] for e in by_type["conversation.item.added"]]
    assert added[0]["id"] == item and added[0]["role"] == "user"
    heard = by_type["conversation.item.input_audio_transcription.completed"][0]
    assert heard["item_id"] == item and heard["usage"]["seconds"] == pytest.approx(11.0, abs=0.1)
    out = by_type["response.output_item.added"][0]["item"]["id"]
    assert {e["item_id"] for e in by_type["response.output_audio.delta"]} == {out}
    order = [e["type"] for e in rec.events]
    assert order.index("response.output_item.added") < order.index("response.output_audio.delta")
    assert order.index("response.output_item.done") < order.index("response.done")


def test_the_agents_sdk_realtime_runner_against_serve(server):  # noqa: F811
    """The OpenAI Agents SDK validates every server event and drops what fails: a spoken turn
    through its RealtimeRunner must leave the user's transcript and the reply in the agent's history."""
    pytest.importorskip("agents.realtime")
    import asyncio

    from agents.realtime import RealtimeAgent, RealtimeRunner

    question = pcm24(shared_audio("jfk.flac")) + bytes(2 * 24000)  # the speech, then 1 s of silence

    async def turn():
        runner = RealtimeRunner(RealtimeAgent(name="assistant", instructions="Answer briefly."))
        session = await runner.run(model_config={"url": f"ws://{server[0]}/v1/realtime?model=assistant",
                                                 "api_key": KEY})
        seen, history = [], []
        async with session:
            for i in range(0, len(question), 9600):
                await session.send_audio(question[i:i + 9600])
            async def events():
                async for event in session:
                    seen.append(event.type if event.type != "raw_model_event" else
                                f"raw:{getattr(event.data, 'type', '')}:"
                                f"{getattr(getattr(event.data, 'data', None), 'type', '')}")
                    if event.type == "error":
                        raise AssertionError(f"the agent reported an error: {event.error}")
                    if event.type == "raw_model_event" and getattr(event.data, "type", "") == "error":
                        raise AssertionError(f"the model layer reported an error: {event.data}")
                    if event.type == "history_updated":
                        history[:] = event.history
                    if event.type == "agent_end":
                        return

            await asyncio.wait_for(events(), 180)
        return seen, history

    seen, history = asyncio.run(turn())
    users = [h for h in history if getattr(h, "role", None) == "user"]
    assistants = [h for h in history if getattr(h, "role", None) == "assistant"]
    assert users and assistants, (seen, history)
    heard = [getattr(c, "transcript", None) for c in users[0].content]
    assert any(heard), f"the user's transcript never reached the agent's history: {users[0]}"
    assert "agent_end" in seen and not [t for t in seen if "error" in t], sorted(set(seen))
