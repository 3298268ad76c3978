"""One `/v1/realtime` connection: a subset of OpenAI's Realtime events over the turn engine.

Client → server: ``session.update`` (instructions, ``turn_detection`` server_vad or null),
``input_audio_buffer.append`` (base64 PCM16 mono 24 kHz) / ``commit`` / ``clear``,
``conversation.item.create`` (a user ``input_text`` item), ``response.create``, ``response.cancel``.
Server → client, the GA event names and shapes (every event validates against the ``openai``
package's ``RealtimeServerEvent`` union; strict clients such as the Agents SDK drop any that do not):
``session.created`` / ``session.updated``, ``input_audio_buffer.speech_started`` / ``speech_stopped`` /
``committed`` / ``cleared``, ``conversation.item.added`` / ``conversation.item.done`` (the user's item,
then the assistant's), ``conversation.item.input_audio_transcription.completed`` (with ``usage`` and
``language``), ``response.created``, ``response.output_item.added``, ``response.content_part.added``,
``response.output_audio_transcript.delta``, ``response.output_audio.delta``, their ``.done`` events,
``response.done`` (status ``completed``, ``cancelled`` or ``failed``), and ``error`` for anything
malformed, unknown or over a limit (the connection stays open). Speech during a response cancels it
(barge-in).

Every client event is checked against a schema (``ClientEvent`` below) before it is used; the
work of one connection (parsing, decoding, the VAD) runs on its own worker thread, so one client's
backlog does not hold up the event loop the others share.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import logging
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, StrictStr, ValidationError

from assistant.audio.endpointing import FRAME_S, Endpointer, SpeechStarted
from assistant.core.errors import AssistantError
from assistant.core.secrets import redact
from assistant.core.types import AudioChunk, Transcript, Turn, Utterance
from assistant.engine import ReplySink, TextInput, TurnEngine, TurnPolicy
from assistant.engine.commands import interrupts
from assistant.engine.session import Session

log = logging.getLogger("assistant.modes.server")
RATE = 24000  # the protocol's PCM16 rate
SERVER = TurnPolicy(stream=True, say_errors=False, raise_errors=False, feedback=True)


def _id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:16]}"


def clip(text: str, limit: int = 80) -> str:
    """A client's string as it may appear in an error message: never echoed in full."""
    text = str(text)
    return text if len(text) <= limit else text[:limit] + f"… ({len(text)} characters)"


# ---------------------------------------------------------------- client events (the schema)

class _Part(BaseModel):
    model_config = ConfigDict(extra="ignore", allow_inf_nan=False)


class PcmFormat(_Part):
    type: StrictStr = "audio/pcm"
    rate: int = RATE


class TurnDetection(_Part):
    type: StrictStr
    silence_duration_ms: float | None = None


class AudioInput(_Part):
    format: PcmFormat | None = None
    turn_detection: TurnDetection | None = None


class AudioConfig(_Part):
    input: AudioInput | None = None


class SessionConfig(_Part):
    type: StrictStr | None = None
    instructions: StrictStr | None = Field(None, max_length=32000)
    audio: AudioConfig | None = None
    turn_detection: TurnDetection | None = None  # the beta shape, still sent by older clients


class ContentPart(_Part):
    type: StrictStr
    text: StrictStr | None = None


class Item(_Part):
    id: StrictStr | None = Field(None, max_length=64)
    type: StrictStr = "message"
    role: StrictStr | None = None
    content: list[ContentPart] = Field(default_factory=list, max_length=64)


class _Event(_Part):
    event_id: StrictStr | None = Field(None, max_length=64)


class SessionUpdate(_Event):
    type: Literal["session.update"]
    session: SessionConfig = Field(default_factory=SessionConfig)


class AudioAppend(_Event):
    type: Literal["input_audio_buffer.append"]
    audio: StrictStr


class AudioCommit(_Event):
    type: Literal["input_audio_buffer.commit"]


class AudioClear(_Event):
    type: Literal["input_audio_buffer.clear"]


class ItemCreate(_Event):
    type: Literal["conversation.item.create"]
    item: Item
    previous_item_id: StrictStr | None = None


class ResponseCreate(_Event):
    type: Literal["response.create"]
    response: dict[str, Any] | None = None


class ResponseCancel(_Event):
    type: Literal["response.cancel"]
    response_id: StrictStr | None = None


EVENTS: dict[str, type[_Event]] = {m.model_fields["type"].annotation.__args__[0]: m for m in (  # type: ignore
    SessionUpdate, AudioAppend, AudioCommit, AudioClear, ItemCreate, ResponseCreate, ResponseCancel)}


class BadEvent(Exception):
    def __init__(self, message: str, code: str, event_id: str | None = None) -> None:
        super().__init__(message)
        self.message, self.code, self.event_id = message, code, event_id


def parse_event(raw: str | bytes, limit: int) -> _Event:
    """One client message → a checked event, or BadEvent saying what is wrong (no client string
    is repeated in full)."""
    if len(raw) > limit:
        raise BadEvent(f"message of {len(raw)} bytes is over the limit of {limit} (server.max_message_bytes); "
                       "send audio in smaller appends", "message_too_large")
    try:
        event = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise BadEvent(f"the message is not valid JSON: {clip(str(e))}", "invalid_json") from None
    except RecursionError:
        raise BadEvent("the message is nested too deeply", "invalid_json") from None
    if not isinstance(event, dict) or not isinstance(event.get("type"), str):
        raise BadEvent("each message must be a JSON object with a string 'type'", "invalid_event")
    event_id = event.get("event_id") if isinstance(event.get("event_id"), str) else None
    event_id = event_id if event_id is None or len(event_id) <= 64 else None
    model = EVENTS.get(event["type"])
    if model is None:
        raise BadEvent(f"unknown or unsupported event type '{clip(event['type'], 64)}'", "unknown_event", event_id)
    try:
        return model.model_validate(event)
    except ValidationError as e:
        first = e.errors()[0]
        where = ".".join(str(x) for x in first["loc"]) or "(event)"
        raise BadEvent(f"malformed '{event['type']}' event: {clip(where, 120)}: {clip(first['msg'], 200)}"
                       f"{f' (and {e.error_count() - 1} more problems)' if e.error_count() > 1 else ''}",
                       "invalid_event", event_id) from None
    except RecursionError:
        raise BadEvent("the message is nested too deeply", "invalid_event", event_id) from None


def pcm16_to_float(data: bytes) -> np.ndarray:
    return np.frombuffer(data[: len(data) // 2 * 2], dtype="<i2").astype(np.float32) / 32768.0


def float_to_pcm16(samples: np.ndarray) -> bytes:
    return (np.clip(samples, -1.0, 1.0) * 32767.0).astype("<i2").tobytes()


class SocketSink(ReplySink):
    """Sends the engine's output as Realtime events; paces "played" by the wall clock (the
    client plays audio as it arrives)."""

    def __init__(self, send: Callable[[dict[str, Any]], None], response_id: str, item_id: str,
                 audio_seconds: float = 0.0) -> None:
        self.send, self.response_id, self.item_id = send, response_id, item_id
        self.out_id = f"item_{response_id[5:]}"
        self.input_seconds = audio_seconds
        self.audio_seconds = 0.0
        self.first_audio: float | None = None
        self.created = False
        self.transcript: list[str] = []

    def _ev(self, type_: str, **fields: Any) -> None:
        self.send({"type": type_, "event_id": _id("event"), **fields})

    def _at(self) -> dict[str, Any]:
        return {"response_id": self.response_id, "item_id": self.out_id, "output_index": 0, "content_index": 0}

    def out_item(self, status: str, text: str | None = None) -> dict[str, Any]:
        content = [] if text is None else [{"type": "output_audio", "transcript": text}]
        return {"id": self.out_id, "object": "realtime.item", "type": "message", "role": "assistant",
                "status": status, "content": content}

    def heard(self, turn: Turn) -> None:
        if turn.input != "<text>":
            self._ev("conversation.item.input_audio_transcription.completed", item_id=self.item_id,
                     content_index=0, transcript=turn.text,
                     usage={"type": "duration", "seconds": round(self.input_seconds, 3)},
                     language=turn.language, language_probability=turn.language_probability)
            self._ev("conversation.item.done", previous_item_id=None, item=user_item(
                self.item_id, "input_audio", turn.text, "completed"))

    def start_response(self) -> None:
        if not self.created:
            self.created = True
            self._ev("response.created", response={"id": self.response_id, "object": "realtime.response",
                                                    "status": "in_progress", "output": []})
            self._ev("response.output_item.added", response_id=self.response_id, output_index=0,
                     item=self.out_item("in_progress"))
            self._ev("conversation.item.added", previous_item_id=self.item_id, item=self.out_item("in_progress"))
            self._ev("response.content_part.added", **self._at(), part={"type": "audio", "transcript": ""})

    def reply_start(self, language: str) -> None:
        self.start_response()

    def reply_text(self, text: str) -> None:
        self.start_response()
        self.transcript.append(text)
        self._ev("response.output_audio_transcript.delta", **self._at(), delta=text)

    def audio(self, chunk: AudioChunk) -> None:
        self.start_response()
        if self.first_audio is None:
            self.first_audio = time.monotonic()
        self.audio_seconds += chunk.duration
        data = float_to_pcm16(chunk.resampled(RATE).samples)
        self._ev("response.output_audio.delta", **self._at(), delta=base64.b64encode(data).decode("ascii"))

    def finish(self) -> str:
        """The ``.done`` events of the output item; returns the reply's transcript."""
        text = "".join(self.transcript).strip()
        self._ev("response.output_audio.done", **self._at())
        self._ev("response.output_audio_transcript.done", **self._at(), transcript=text)
        self._ev("response.content_part.done", **self._at(), part={"type": "audio", "transcript": text})
        self._ev("response.output_item.done", response_id=self.response_id, output_index=0,
                 item=self.out_item("completed", text))
        self._ev("conversation.item.done", previous_item_id=self.item_id, item=self.out_item("completed", text))
        return text

    def error(self, text: str) -> None:
        self._ev("error", error={"type": "server_error", "code": "turn_failed", "message": redact(text)})

    def played_seconds(self) -> float:
        if self.first_audio is None:
            return 0.0
        return min(self.audio_seconds, time.monotonic() - self.first_audio)

    def wait_played(self, cancel: threading.Event) -> None:
        while not cancel.is_set() and self.played_seconds() < self.audio_seconds - 1e-3:
            cancel.wait(min(0.05, self.audio_seconds - self.played_seconds()))


def user_item(item_id: str, kind: str, text: str | None, status: str) -> dict[str, Any]:
    part = {"type": kind, "transcript": text} if kind == "input_audio" else {"type": kind, "text": text}
    return {"id": item_id, "object": "realtime.item", "type": "message", "role": "user", "status": status,
            "content": [part]}


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
        self.closed = False
        self.running = False  # a turn is in the engine
        self.speech_item: str | None = None  # the item id announced with speech_started
        self.last_item: str | None = None
        # this connection's parsing, decoding and VAD: off the event loop, in order, one at a time
        self.worker = ThreadPoolExecutor(1, thread_name_prefix="realtime-session")
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

    async def _work(self, fn, *args):
        return await asyncio.get_running_loop().run_in_executor(self.worker, fn, *args)

    async def handle(self, raw: str | bytes) -> None:
        try:
            event = await self._work(parse_event, raw, self.limits.max_message_bytes)
        except BadEvent as e:
            return self.error(e.message, e.code, e.event_id)
        try:
            await getattr(self, "on_" + event.type.replace(".", "_"))(event)
        except BadEvent as e:
            self.error(e.message, e.code, event.event_id)
        except Exception as e:  # a bug here must not end the connection silently
            log.exception("realtime: %s failed", event.type)
            self.error(f"the server failed on '{event.type}': {type(e).__name__}", "server_error", event.event_id)

    # ------------------------------------------------------------------ events

    async def on_session_update(self, event: SessionUpdate) -> None:
        session = event.session
        if session.instructions is not None:
            prompt = session.instructions
            if not encodable(prompt):
                raise BadEvent("instructions hold a lone surrogate (\\ud800-\\udfff), which is not text",
                               "invalid_event")
            self.session.history.settings = self.session.history.settings.model_copy(update={"system_prompt": prompt})
            self.info["instructions"] = prompt
        audio_in = session.audio.input if session.audio and session.audio.input else AudioInput()
        fmt = audio_in.format
        if fmt is not None and (fmt.type != "audio/pcm" or fmt.rate != RATE):
            raise BadEvent("only audio/pcm (PCM16 mono) at 24000 Hz is supported", "unsupported_format")
        if "turn_detection" in audio_in.model_fields_set:
            detection, given = audio_in.turn_detection, True
        else:
            detection, given = session.turn_detection, "turn_detection" in session.model_fields_set
        if given:
            if detection is not None and detection.type not in ("server_vad", "semantic_vad"):
                raise BadEvent("turn_detection: only {type: server_vad} (semantic_vad is taken as server_vad: "
                               "the VAD, with Smart Turn when audio.end_of_turn says so) or null",
                               "unsupported_turn_detection")
            silence = detection.silence_duration_ms if detection else None
            if silence is not None and not 100 <= silence <= 5000:
                raise BadEvent("turn_detection.silence_duration_ms: a number from 100 to 5000", "invalid_event")
            if silence is not None:
                self.silence_ms, self.endpointer = silence, None
            self.server_vad = detection is not None
            self.info["audio"]["input"]["turn_detection"] = (
                None if detection is None else {"type": "server_vad", **({"silence_duration_ms": int(silence)}
                                                                          if silence is not None else {})})
        self.send({"type": "session.updated", "event_id": _id("event"), "session": self.info})

    def _feed(self, audio: str) -> list[Any]:
        """On the worker: decode one append and run the VAD on it; returns what the loop must act on."""
        try:
            data = base64.b64decode(audio, validate=True)
        except (binascii.Error, ValueError):
            raise BadEvent("input_audio_buffer.append: 'audio' is not base64", "invalid_event") from None
        block = AudioChunk(pcm16_to_float(data), RATE).resampled(16000).samples
        if not self.server_vad:
            if self.buffered_s + len(block) / 16000 > self.limits.max_turn_audio_s:
                self.buffer.clear()
                self.buffered_s = 0.0
                raise BadEvent(f"more than {self.limits.max_turn_audio_s:g} s of audio in one turn "
                               "(server.max_turn_audio_s); the buffer was cleared", "audio_too_long")
            self.buffer.append(block)
            self.buffered_s += len(block) / 16000
            return []
        if self.endpointer is None:
            audio_cfg = self.engine.config.audio
            longest = min(audio_cfg.max_utterance_s, self.limits.max_turn_audio_s)  # a longer one is cut there
            self.endpointer = Endpointer(self._vad_factory(), threshold=audio_cfg.vad_threshold,
                                         min_silence_ms=self.silence_ms, max_utterance_s=longest,
                                         source="realtime")
        return list(self.endpointer.feed(block))

    async def on_input_audio_buffer_append(self, event: AudioAppend) -> None:
        for ev in await self._work(self._feed, event.audio):
            if isinstance(ev, SpeechStarted):
                if not ev.continuation:
                    self.barge_in()
                    self.speech_item = _id("item")
                    self.send({"type": "input_audio_buffer.speech_started", "event_id": _id("event"),
                               "audio_start_ms": int(ev.offset * 1000), "item_id": self.speech_item})
            elif isinstance(ev, Utterance):
                item, self.speech_item = self.speech_item or _id("item"), None
                self.send({"type": "input_audio_buffer.speech_stopped", "event_id": _id("event"),
                           "audio_end_ms": int(self.endpointer_time() * 1000), "item_id": item})
                self.commit(ev, item)

    def endpointer_time(self) -> float:
        """Stream seconds the VAD has seen since its last reset."""
        return self.endpointer._frame_index * FRAME_S if self.endpointer else 0.0

    def commit(self, utterance: Utterance, item: str) -> None:
        self.send({"type": "input_audio_buffer.committed", "event_id": _id("event"), "item_id": item,
                   "previous_item_id": self.last_item})
        self.send({"type": "conversation.item.added", "event_id": _id("event"), "previous_item_id": self.last_item,
                   "item": user_item(item, "input_audio", None, "in_progress")})
        self.last_item = item
        self.start_turn(utterance, item)

    async def on_input_audio_buffer_commit(self, event: AudioCommit) -> None:
        if not self.buffer:
            raise BadEvent("the input audio buffer is empty", "input_audio_buffer_commit_empty")
        audio = AudioChunk(np.concatenate(self.buffer), 16000)
        self.buffer.clear()
        self.buffered_s = 0.0
        self.commit(Utterance(audio, source="realtime", ended_at=time.monotonic()), _id("item"))

    async def on_input_audio_buffer_clear(self, event: AudioClear) -> None:
        self.buffer.clear()
        self.buffered_s = 0.0
        if self.endpointer is not None:
            await self._work(self.endpointer.reset)
        self.send({"type": "input_audio_buffer.cleared", "event_id": _id("event")})

    async def on_conversation_item_create(self, event: ItemCreate) -> None:
        item = event.item
        if item.type != "message" or item.role != "user":
            raise BadEvent("only user message items are supported", "invalid_event")
        texts = [c.text for c in item.content if c.type == "input_text" and c.text is not None]
        if not texts:
            raise BadEvent("the item has no input_text content", "invalid_event")
        text = " ".join(texts)
        if not encodable(text):
            raise BadEvent("the text holds a lone surrogate (\\ud800-\\udfff), which is not text", "invalid_event")
        waiting = sum(len(t) + 1 for t in self.pending_text)
        if waiting + len(text) > self.limits.max_text_chars:
            raise BadEvent(f"the user text is over {self.limits.max_text_chars} characters "
                           "(server.max_text_chars); send a shorter message", "text_too_long")
        self.pending_text.append(text)
        item_id = item.id or _id("item")
        self.send({"type": "conversation.item.added", "event_id": _id("event"), "previous_item_id": self.last_item,
                   "item": user_item(item_id, "input_text", text, "completed")})
        self.send({"type": "conversation.item.done", "event_id": _id("event"), "previous_item_id": self.last_item,
                   "item": user_item(item_id, "input_text", text, "completed")})
        self.last_item = item_id

    async def on_response_create(self, event: ResponseCreate) -> None:
        if not self.pending_text:
            raise BadEvent("no new user text to answer (send conversation.item.create first)", "no_input")
        text = " ".join(self.pending_text)
        self.pending_text.clear()
        if interrupts(text, self.session):  # a typed "stop" cuts the reply now, not after it,
            self.barge_in()                 # and the turns still waiting for it are dropped
            for waiting in self.waiting:
                waiting.set()
        self.start_turn(TextInput(text), self.last_item or _id("item"))

    async def on_response_cancel(self, event: ResponseCancel) -> None:
        self.barge_in()

    # ------------------------------------------------------------------ turns

    def barge_in(self) -> None:
        if self.cancel is not None and not self.cancel.is_set():
            if self.turn is not None:
                self.turn.interrupted = True
            self.cancel.set()

    def start_turn(self, source: Utterance | TextInput, item_id: str) -> None:
        if len(self.waiting) >= self.limits.max_queued_turns:
            self.error(f"{len(self.waiting)} turns are already waiting (server.max_queued_turns); "
                       "wait for a response.done", "too_many_turns")
            return
        cancel = threading.Event()
        self.waiting.add(cancel)
        task = asyncio.get_running_loop().create_task(self._turn(source, item_id, cancel))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _turn(self, source: Utterance | TextInput, item_id: str, cancel: threading.Event) -> None:
        async with self.lock:
            self.waiting.discard(cancel)
            if self.closed:  # the client left while this turn waited: nothing to run it for
                return
            response_id = _id("resp")
            seconds = source.audio.duration if isinstance(source, Utterance) else 0.0
            sink = SocketSink(self.send, response_id, item_id, seconds)
            self.cancel = cancel
            self.turn = turn = self.session.new_turn("<text>" if isinstance(source, TextInput) else "realtime")
            if isinstance(source, TextInput):
                sink.start_response()
            if not cancel.is_set():
                self.running = True
                try:
                    await asyncio.to_thread(self.engine.run, self.session, source, sink, SERVER, turn, cancel)
                finally:
                    self.running = False  # (the turn's log line is written)
            else:  # a typed "stop" dropped it before it started: still a turn, and logged as one
                turn.status, turn.interrupted = "interrupted", True
                turn.notice = "dropped before it started: a stop command came first"
                if isinstance(source, TextInput):
                    language = self.session.language.user_language(self.engine.config.language, source.language)
                    turn.transcript = Transcript(source.text, language, None)
                try:
                    self.engine.turn_log.append(turn.to_dict() | {"session": self.session.id})
                except AssistantError as e:
                    sink.error(str(e))
            self.session.after_turn(turn, self.endpointer, self.silence_ms)  # patient mode: the VAD's silence
            if turn.status == "no_speech" and not sink.created:
                return
            sink.start_response()
            status = "cancelled" if cancel.is_set() else ("failed" if turn.status == "failed" else "completed")
            text = sink.finish()
            details: dict[str, Any] = {"type": status}
            if status == "cancelled":
                details["reason"] = "turn_detected" if turn.interrupted else "client_cancelled"
            if turn.error:
                details["error"] = {"type": "server_error", "code": "turn_failed", "message": redact(turn.error)}
            self.send({"type": "response.done", "event_id": _id("event"), "response": {
                "id": response_id, "object": "realtime.response", "status": status,
                "status_details": details, "output": [sink.out_item("completed", text)],
                "metadata": {"turn": str(turn.id), "session": str(self.session.id), "language": str(turn.language),
                             "reply_language": str(turn.reply_language),
                             "timings_ms": json.dumps({k: round(v, 1) for k, v in turn.timings_ms.items()})}}})

    def close(self) -> None:
        """The client left: the running turn is cancelled, the waiting ones never start."""
        self.closed = True
        for waiting in self.waiting:
            waiting.set()
        self.barge_in()
        self.worker.shutdown(wait=False, cancel_futures=True)


def encodable(text: str) -> bool:
    """False for text holding a lone surrogate (valid JSON, not UTF-8): answered as a client error."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
