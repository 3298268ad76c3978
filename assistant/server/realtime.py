"""One `/v1/realtime` connection: a subset of OpenAI's Realtime events over the turn engine.

Client → server: ``session.update`` (instructions, ``turn_detection`` server_vad or null),
``input_audio_buffer.append`` (base64 PCM16 mono 24 kHz) / ``commit`` / ``clear``,
``conversation.item.create`` (a user ``input_text`` item), ``response.create``, ``response.cancel``.
Server → client: ``session.created`` / ``session.updated``, ``input_audio_buffer.speech_started`` /
``speech_stopped`` / ``committed`` / ``cleared``, ``conversation.item.input_audio_transcription.completed``
(with ``language``), ``response.created``, ``response.output_audio_transcript.delta``,
``response.output_audio.delta``, their ``.done`` events, ``response.done`` (status ``completed``,
``cancelled`` or ``failed``), and ``error`` for anything malformed, unknown or over a limit (the
connection stays open). Speech during a response cancels it (barge-in).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import threading
import time
import uuid
from typing import Any, Callable

import numpy as np

from assistant.audio.endpointing import Endpointer, SpeechStarted
from assistant.secrets import redact
from assistant.engine import ReplySink, TextInput, TurnEngine, TurnPolicy
from assistant.engine.commands import interrupts
from assistant.engine.session import Session
from assistant.errors import AssistantError
from assistant.types import AudioChunk, Transcript, Turn, Utterance

RATE = 24000  # the protocol's PCM16 rate
SERVER = TurnPolicy(stream=True, say_errors=False, raise_errors=False, feedback=True)


def _id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:16]}"


def pcm16_to_float(data: bytes) -> np.ndarray:
    return np.frombuffer(data[: len(data) // 2 * 2], dtype="<i2").astype(np.float32) / 32768.0


def float_to_pcm16(samples: np.ndarray) -> bytes:
    return (np.clip(samples, -1.0, 1.0) * 32767.0).astype("<i2").tobytes()


class SocketSink(ReplySink):
    """Sends the engine's output as Realtime events; paces "played" by the wall clock (the
    client plays audio as it arrives)."""

    def __init__(self, send: Callable[[dict[str, Any]], None], response_id: str, item_id: str) -> None:
        self.send, self.response_id, self.item_id = send, response_id, item_id
        self.audio_seconds = 0.0
        self.first_audio: float | None = None
        self.created = False
        self.transcript: list[str] = []

    def _ev(self, type_: str, **fields: Any) -> None:
        self.send({"type": type_, "event_id": _id("event"), **fields})

    def heard(self, turn: Turn) -> None:
        if turn.input != "<text>":
            self._ev("conversation.item.input_audio_transcription.completed", item_id=self.item_id,
                     content_index=0, transcript=turn.text, language=turn.language,
                     language_probability=turn.language_probability)

    def start_response(self) -> None:
        if not self.created:
            self.created = True
            self._ev("response.created", response={"id": self.response_id, "object": "realtime.response",
                                                    "status": "in_progress", "output": []})

    def reply_start(self, language: str) -> None:
        self.start_response()

    def reply_text(self, text: str) -> None:
        self.transcript.append(text)
        self._ev("response.output_audio_transcript.delta", response_id=self.response_id, item_id=_out(self),
                 output_index=0, content_index=0, delta=text)

    def audio(self, chunk: AudioChunk) -> None:
        if self.first_audio is None:
            self.first_audio = time.monotonic()
        self.audio_seconds += chunk.duration
        data = float_to_pcm16(chunk.resampled(RATE).samples)
        self._ev("response.output_audio.delta", response_id=self.response_id, item_id=_out(self), output_index=0,
                 content_index=0, delta=base64.b64encode(data).decode("ascii"))

    def error(self, text: str) -> None:
        self._ev("error", error={"type": "server_error", "code": "turn_failed", "message": redact(text)})

    def played_seconds(self) -> float:
        if self.first_audio is None:
            return 0.0
        return min(self.audio_seconds, time.monotonic() - self.first_audio)

    def wait_played(self, cancel: threading.Event) -> None:
        while not cancel.is_set() and self.played_seconds() < self.audio_seconds - 1e-3:
            cancel.wait(min(0.05, self.audio_seconds - self.played_seconds()))


def _out(sink: SocketSink) -> str:
    return f"item_{sink.response_id[5:]}"


class RealtimeSession:
    """The state of one connection; ``handle`` takes one client message (text)."""

    def __init__(self, engine: TurnEngine, send: Callable[[dict[str, Any]], None], limits, vad_factory) -> None:
        self.engine, self.send, self.limits = engine, send, limits
        self.session: Session = engine.new_session()
        self.buffer: list[np.ndarray] = []  # 16 kHz float32
        self.buffered_s = 0.0
        self.server_vad = True
        self._vad_factory = vad_factory
        self.endpointer: Endpointer | None = None
        self.silence_ms = engine.config.audio.min_silence_ms  # turn_detection.silence_duration_ms overrides
        self.pending_text: list[str] = []
        self.cancel: threading.Event | None = None
        self.turn: Turn | None = None
        self.tasks: set[asyncio.Task] = set()
        self.waiting: set[threading.Event] = set()  # the cancel events of turns not started yet
        self.lock = asyncio.Lock()  # one turn at a time per conversation
        self.info = {"id": self.session.id, "object": "realtime.session", "type": "realtime", "model": "assistant",
                     "output_modalities": ["audio"], "instructions": engine.config.conversation.system_prompt,
                     "audio": {"input": {"format": {"type": "audio/pcm", "rate": RATE},
                                         "turn_detection": {"type": "server_vad"}},
                               "output": {"format": {"type": "audio/pcm", "rate": RATE}}}}

    def error(self, message: str, code: str = "invalid_request_error", event_id: str | None = None) -> None:
        self.send({"type": "error", "event_id": _id("event"),
                   "error": {"type": "invalid_request_error", "code": code, "message": redact(message),
                             "event_id": event_id}})

    def start(self) -> None:
        self.send({"type": "session.created", "event_id": _id("event"), "session": self.info})

    async def handle(self, raw: str | bytes) -> None:
        if len(raw) > self.limits.max_message_bytes:
            return self.error(f"message of {len(raw)} bytes is over the limit of {self.limits.max_message_bytes} "
                              "(server.max_message_bytes); send audio in smaller appends", "message_too_large")
        try:
            event = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            return self.error(f"the message is not valid JSON: {e}", "invalid_json")
        if not isinstance(event, dict) or not isinstance(event.get("type"), str):
            return self.error("each message must be a JSON object with a string 'type'", "invalid_event")
        kind, event_id = event["type"], event.get("event_id")
        handler = getattr(self, "on_" + kind.replace(".", "_"), None)
        if handler is None:
            return self.error(f"unknown or unsupported event type '{kind}'", "unknown_event", event_id)
        try:
            await handler(event)
        except (KeyError, TypeError, ValueError, binascii.Error) as e:
            self.error(f"malformed '{kind}' event: {type(e).__name__}: {e}", "invalid_event", event_id)

    # ------------------------------------------------------------------ events

    async def on_session_update(self, event: dict[str, Any]) -> None:
        session = event.get("session") or {}
        if not isinstance(session, dict):
            raise TypeError("'session' must be an object")
        if "instructions" in session:
            prompt = str(session["instructions"])
            self.session.history.settings = self.session.history.settings.model_copy(update={"system_prompt": prompt})
            self.info["instructions"] = prompt
        audio_in = ((session.get("audio") or {}).get("input") or {})
        fmt = audio_in.get("format")
        if fmt is not None and (fmt.get("type") != "audio/pcm" or int(fmt.get("rate", RATE)) != RATE):
            return self.error("only audio/pcm (PCM16 mono) at 24000 Hz is supported", "unsupported_format",
                              event.get("event_id"))
        detection = audio_in["turn_detection"] if "turn_detection" in audio_in else session.get(
            "turn_detection", "unset")
        if detection != "unset":
            if detection is not None and detection.get("type") != "server_vad":
                return self.error("turn_detection: only {type: server_vad} or null", "unsupported_turn_detection",
                                  event.get("event_id"))
            silence = (detection or {}).get("silence_duration_ms")
            if silence is not None and (not isinstance(silence, (int, float)) or not 100 <= silence <= 5000):
                return self.error("turn_detection.silence_duration_ms: a number from 100 to 5000",
                                  "invalid_event", event.get("event_id"))
            if silence is not None:
                self.silence_ms, self.endpointer = silence, None
            self.server_vad = detection is not None
            self.info["audio"]["input"]["turn_detection"] = detection
        self.send({"type": "session.updated", "event_id": _id("event"), "session": self.info})

    async def on_input_audio_buffer_append(self, event: dict[str, Any]) -> None:
        samples = pcm16_to_float(base64.b64decode(event["audio"], validate=True))
        block = AudioChunk(samples, RATE).resampled(16000).samples
        if self.buffered_s + len(block) / 16000 > self.limits.max_turn_audio_s:
            self.buffer.clear()
            self.buffered_s = 0.0
            return self.error(f"more than {self.limits.max_turn_audio_s:g} s of audio in one turn "
                              "(server.max_turn_audio_s); the buffer was cleared", "audio_too_long")
        if not self.server_vad:
            self.buffer.append(block)
            self.buffered_s += len(block) / 16000
            return
        if self.endpointer is None:
            audio = self.engine.config.audio
            self.endpointer = Endpointer(self._vad_factory(), threshold=audio.vad_threshold,
                                         min_silence_ms=self.silence_ms, max_utterance_s=audio.max_utterance_s,
                                         source="realtime")
        for ev in self.endpointer.feed(block):
            if isinstance(ev, SpeechStarted):
                if not ev.continuation:
                    self.barge_in()
                    self.send({"type": "input_audio_buffer.speech_started", "event_id": _id("event"),
                               "audio_start_ms": int(ev.offset * 1000), "item_id": _id("item")})
            elif isinstance(ev, Utterance):
                item = _id("item")
                self.send({"type": "input_audio_buffer.speech_stopped", "event_id": _id("event"),
                           "audio_end_ms": int(self.endpointer_time() * 1000), "item_id": item})
                self.send({"type": "input_audio_buffer.committed", "event_id": _id("event"), "item_id": item})
                self.start_turn(ev, item)

    def endpointer_time(self) -> float:
        return getattr(self.endpointer, "offset", 0.0) if self.endpointer else 0.0

    async def on_input_audio_buffer_commit(self, event: dict[str, Any]) -> None:
        if not self.buffer:
            return self.error("the input audio buffer is empty", "input_audio_buffer_commit_empty",
                              event.get("event_id"))
        audio = AudioChunk(np.concatenate(self.buffer), 16000)
        self.buffer.clear()
        self.buffered_s = 0.0
        item = _id("item")
        self.send({"type": "input_audio_buffer.committed", "event_id": _id("event"), "item_id": item})
        self.start_turn(Utterance(audio, source="realtime", ended_at=time.monotonic()), item)

    async def on_input_audio_buffer_clear(self, event: dict[str, Any]) -> None:
        self.buffer.clear()
        self.buffered_s = 0.0
        if self.endpointer is not None:
            self.endpointer.reset()
        self.send({"type": "input_audio_buffer.cleared", "event_id": _id("event")})

    async def on_conversation_item_create(self, event: dict[str, Any]) -> None:
        item = event["item"]
        if item.get("type", "message") != "message" or item.get("role") != "user":
            raise ValueError("only user message items are supported")
        texts = [c["text"] for c in item["content"] if c.get("type") == "input_text"]
        if not texts:
            raise ValueError("the item has no input_text content")
        self.pending_text.append(" ".join(texts))
        self.send({"type": "conversation.item.created", "event_id": _id("event"),
                   "item": {"id": item.get("id") or _id("item"), "type": "message", "role": "user",
                            "content": [{"type": "input_text", "text": t} for t in texts]}})

    async def on_response_create(self, event: dict[str, Any]) -> None:
        if not self.pending_text:
            return self.error("no new user text to answer (send conversation.item.create first)",
                              "no_input", event.get("event_id"))
        text = " ".join(self.pending_text)
        self.pending_text.clear()
        if interrupts(text, self.session):  # a typed "stop" cuts the reply now, not after it,
            self.barge_in()                 # and the turns still waiting for it are dropped
            for waiting in self.waiting:
                waiting.set()
        self.start_turn(TextInput(text), _id("item"))

    async def on_response_cancel(self, event: dict[str, Any]) -> None:
        self.barge_in()

    # ------------------------------------------------------------------ turns

    def barge_in(self) -> None:
        if self.cancel is not None and not self.cancel.is_set():
            if self.turn is not None:
                self.turn.interrupted = True
            self.cancel.set()

    def start_turn(self, source: Utterance | TextInput, item_id: str) -> None:
        cancel = threading.Event()
        self.waiting.add(cancel)
        task = asyncio.get_running_loop().create_task(self._turn(source, item_id, cancel))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _turn(self, source: Utterance | TextInput, item_id: str, cancel: threading.Event) -> None:
        async with self.lock:
            self.waiting.discard(cancel)
            response_id = _id("resp")
            sink = SocketSink(self.send, response_id, item_id)
            self.cancel = cancel
            self.turn = turn = self.session.new_turn("<text>" if isinstance(source, TextInput) else "realtime")
            if isinstance(source, TextInput):
                sink.start_response()
            if not cancel.is_set():
                await asyncio.to_thread(self.engine.run, self.session, source, sink, SERVER, turn, cancel)
            else:  # a typed "stop" dropped it before it started: still a turn, and logged as one
                turn.status, turn.interrupted = "interrupted", True
                turn.notice = "dropped before it started: a stop command came first"
                if isinstance(source, TextInput):
                    turn.transcript = Transcript(source.text, source.language or self.session.language.previous or "en", None)
                try:
                    self.engine.turn_log.append(turn.to_dict() | {"session": self.session.id})
                except AssistantError as e:
                    sink.error(str(e))
            if turn.status == "command" and self.endpointer is not None:  # patient mode: the VAD's silence
                self.endpointer.set_min_silence_ms(self.session.commands.end_of_turn_silence_ms(
                    self.engine.config.audio.min_silence_ms))
            if turn.status == "no_speech" and not sink.created:
                return
            sink.start_response()
            status = "cancelled" if cancel.is_set() else ("failed" if turn.status == "failed" else "completed")
            text = "".join(sink.transcript).strip()
            ev = {"response_id": response_id, "item_id": _out(sink), "output_index": 0, "content_index": 0}
            self.send({"type": "response.output_audio.done", "event_id": _id("event"), **ev})
            self.send({"type": "response.output_audio_transcript.done", "event_id": _id("event"), **ev,
                       "transcript": text})
            self.send({"type": "response.done", "event_id": _id("event"), "response": {
                "id": response_id, "object": "realtime.response", "status": status,
                "status_details": {"error": redact(turn.error)} if turn.error else None,
                "output": [{"id": _out(sink), "type": "message", "role": "assistant",
                            "content": [{"type": "output_audio", "transcript": text}]}],
                "metadata": {"turn": turn.id, "session": self.session.id, "language": turn.language,
                             "reply_language": turn.reply_language,
                             "timings_ms": {k: round(v, 1) for k, v in turn.timings_ms.items()}}}})

    def close(self) -> None:
        self.barge_in()
