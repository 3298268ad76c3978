"""The HTTP/WebSocket application of `assistant serve` (Starlette via FastAPI, served by uvicorn:
both well kept, and FastAPI parses multipart uploads and JSON bodies into typed 4xx errors).

- ``GET /v1/realtime`` (WebSocket): ``realtime.RealtimeSession`` per connection;
- ``POST /v1/audio/transcriptions``: OpenAI's shape (multipart ``file``; ``response_format`` json,
  text, srt, vtt or verbose_json, with the detected language);
- ``POST /v1/audio/speech``: OpenAI's shape (JSON ``input``, ``voice``, ``response_format`` wav,
  mp3, opus or flac); ``voice`` may be a language code, which picks the voice for that language;
- ``GET /``: a page to try it (microphone and speaker through AudioWorklets, live captions).
"""

from __future__ import annotations

import asyncio
import hmac
import json
import os
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from fastapi import FastAPI, Form, HTTPException, Request, UploadFile, WebSocket, WebSocketDisconnect
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from pydantic import BaseModel
from starlette.datastructures import Headers
from starlette.middleware.trustedhost import TrustedHostMiddleware

from assistant.core import secrets
from assistant.core.errors import AssistantError
from assistant.core.secrets import redact
from assistant.core.types import AudioChunk, Utterance
from assistant.language.names import is_code
from assistant.modes.file import Assistant
from assistant.modes.server.realtime import RealtimeSession, encodable
from assistant.text.subtitles import subtitles

OUTBOX_EVENTS = 4096  # events (and bytes) queued for a client that is slow to read; more: disconnected
OUTBOX_BYTES = 32 * 2**20
INBOX_MESSAGES = 16  # client messages received ahead of its session (each at most max_message_bytes)
MEDIA = {"wav": "audio/wav", "mp3": "audio/mpeg", "opus": "audio/ogg", "flac": "audio/flac"}


class SpeechRequest(BaseModel):
    input: str
    model: str = "assistant"
    voice: str | None = None
    response_format: str = "wav"


def _api_key(bot: Assistant, limits) -> str | None:
    name = limits.api_key_env
    return os.environ.get(name) or None if name else None


def _authorized(headers, key: str | None) -> bool:
    """``Authorization: Bearer KEY``, ``api-key: KEY``, or (browsers cannot set WebSocket headers)
    the subprotocol ``openai-insecure-api-key.KEY``, as OpenAI's own clients send it."""
    if key is None:
        return True
    given = headers.get("authorization", "")
    token = given[7:] if given.lower().startswith("bearer ") else headers.get("api-key", "")
    for proto in headers.get("sec-websocket-protocol", "").split(","):
        if proto.strip().startswith("openai-insecure-api-key."):
            token = proto.strip().removeprefix("openai-insecure-api-key.")
    return hmac.compare_digest(token.encode(), key.encode())


LOOPBACK = ("localhost", "127.0.0.1", "::1", "[::1]")
WILDCARD_HOSTS = ("0.0.0.0", "::", "[::]", "")


def _error(status: int, message: str, code: str) -> JSONResponse:
    return JSONResponse({"error": {"message": message, "type": "invalid_request_error", "code": code}}, status)


def allowed_hosts(limits) -> list[str]:
    """The Host names the server answers to: loopback, ``server.host`` and ``server.allowed_hosts``."""
    hosts = [*LOOPBACK, *limits.allowed_hosts]
    if limits.host not in WILDCARD_HOSTS:
        hosts.append(limits.host)
    return hosts


class OriginGuard:
    """Requests a web page makes carry ``Origin``; only the server's own page, loopback pages and
    ``server.allowed_origins`` may call (a WebSocket handshake or a multipart POST is not
    preflighted by browsers, so CORS alone would not stop a foreign page). No ``Origin``: not a
    browser, allowed (the API key, if set, still applies)."""

    def __init__(self, app, allowed: list[str]) -> None:
        self.app = app
        self.allowed = {o.lower().rstrip("/") for o in allowed}

    def permits(self, origin: str, host: str | None) -> bool:
        origin = origin.strip().lower().rstrip("/")
        if "*" in self.allowed or origin in self.allowed:
            return True
        try:
            parts = urlsplit(origin)
            name = parts.hostname
        except ValueError:
            return False
        if parts.scheme not in ("http", "https") or not name:
            return False
        return name in LOOPBACK or (host is not None and parts.netloc == host.lower())

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] in ("http", "websocket"):
            headers = Headers(scope=scope)
            origin = headers.get("origin")
            if origin is not None and not self.permits(origin, headers.get("host")):
                response = _error(403, "requests from the web page at this origin are not allowed "
                                       "(server.allowed_origins)", "origin_not_allowed")
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


class BodyTooLarge(Exception):
    pass


class BodyLimit:
    """Refuses a request body over ``limit`` bytes while it arrives (Content-Length first, then
    counting), before any of it is parsed or spooled to disk."""

    def __init__(self, app, limit: int) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        message = (f"the request is over {self.limit} bytes (server.max_message_bytes plus room for the form); "
                   "send a smaller file")
        length = Headers(scope=scope).get("content-length")
        if length is not None and (not length.isdigit() or int(length) > self.limit):
            return await _error(413, message, "request_too_large")(scope, receive, send)
        seen = 0
        over = False
        started = False

        async def counted():
            nonlocal seen, over
            event = await receive()
            if event["type"] == "http.request":
                seen += len(event.get("body", b""))
                if seen > self.limit:
                    over = True
                    raise BodyTooLarge()
            return event

        async def guarded(event):
            nonlocal started
            if over:
                return  # whatever the app says about the broken body, the answer is 413
            started = True
            await send(event)

        try:
            await self.app(scope, counted, guarded)
        except Exception:
            if not over:
                raise
        if over and not started:
            await _error(413, message, "request_too_large")(scope, receive, send)


def create_app(bot: Assistant, limits=None) -> FastAPI:
    """The app over ``bot``; ``limits`` (a ServerSettings) replaces the config's ``server:`` section."""
    app = FastAPI(title="assistant", docs_url=None, redoc_url=None)
    limits = limits or bot.config.server
    key = _api_key(bot, limits)
    secrets.register(key)  # masked in every message and log record, like the backends' keys
    sessions: set[RealtimeSession] = set()
    app.state.sessions = sessions  # (the open realtime sessions: tests look)

    def vad():
        from assistant.audio.vad import make_vad

        return make_vad(bot.config.audio.vad)

    @app.middleware("http")
    async def auth(request: Request, call_next):
        if request.url.path != "/" and not _authorized(request.headers, key):  # the page holds no secret
            return JSONResponse({"error": {"message": "missing or wrong API key (send Authorization: Bearer KEY)",
                                           "type": "invalid_request_error", "code": "invalid_api_key"}}, 401)
        return await call_next(request)

    # outermost last: the Host, then the Origin, then the body's size, before anything else runs
    app.add_middleware(BodyLimit, limit=limits.max_message_bytes + 65536)
    app.add_middleware(OriginGuard, allowed=limits.allowed_origins)
    app.add_middleware(TrustedHostMiddleware, allowed_hosts=allowed_hosts(limits), www_redirect=False)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException):
        return JSONResponse({"error": {"message": redact(str(exc.detail)), "type": "invalid_request_error"}},
                            exc.status_code)

    @app.get("/", include_in_schema=False)
    async def page():
        return HTMLResponse((Path(__file__).parent / "page.html").read_text(encoding="utf-8"))

    @app.post("/v1/audio/transcriptions")
    async def transcriptions(file: UploadFile, model: str = Form("assistant"), language: str | None = Form(None),
                             response_format: str = Form("json")):
        if response_format not in ("json", "text", "srt", "vtt", "verbose_json"):
            raise HTTPException(400, f"response_format '{response_format}' is not one of json, text, srt, vtt, "
                                     "verbose_json")
        if language is not None and not is_code(language):
            raise HTTPException(400, f"language '{language}' is not a language code Whisper knows (e.g. en, de)")
        data = await file.read(limits.max_message_bytes + 1)
        if len(data) > limits.max_message_bytes:
            raise HTTPException(413, f"the file is over {limits.max_message_bytes} bytes (server.max_message_bytes)")
        transcript = await asyncio.to_thread(_transcribe, bot, data, language, limits.max_turn_audio_s)
        if response_format == "text":
            return PlainTextResponse(transcript.text + "\n")
        if response_format in ("srt", "vtt"):
            return PlainTextResponse(subtitles(transcript, response_format))
        body: dict[str, Any] = {"text": transcript.text, "language": transcript.language}
        if response_format == "verbose_json":
            body |= {"task": "transcribe", "duration": transcript.duration,
                     "language_probability": transcript.language_probability,
                     "segments": [{"id": i, "start": s.start, "end": s.end, "text": s.text,
                                   "avg_logprob": s.avg_logprob, "no_speech_prob": s.no_speech_probability}
                                  for i, s in enumerate(transcript.segments)]}
        return JSONResponse(body)

    @app.post("/v1/audio/speech")
    async def speech(request: SpeechRequest):
        if request.response_format not in MEDIA:
            raise HTTPException(400, f"response_format '{request.response_format}' is not one of "
                                     f"{', '.join(MEDIA)}")
        if not request.input.strip():
            raise HTTPException(400, "input is empty")
        if len(request.input) > 4096:
            raise HTTPException(400, "input is over 4096 characters")
        if not encodable(request.input):
            raise HTTPException(400, "input holds a lone surrogate (\\ud800-\\udfff), which is not text")
        language = request.voice if request.voice and is_code(request.voice) else bot.config.language.default
        data = await asyncio.to_thread(_synthesize, bot, request.input, language, request.response_format)
        return Response(data, media_type=MEDIA[request.response_format])

    @app.websocket("/v1/realtime")
    async def realtime(ws: WebSocket):
        if not _authorized(ws.headers, key):
            await ws.close(code=1008, reason="missing or wrong API key")
            return
        offered = [p.strip() for p in ws.headers.get("sec-websocket-protocol", "").split(",") if p.strip()]
        await ws.accept(subprotocol="realtime" if "realtime" in offered else None)
        if len(sessions) >= limits.max_sessions:
            await ws.send_json({"type": "error", "error": {
                "type": "invalid_request_error", "code": "too_many_sessions",
                "message": f"{limits.max_sessions} sessions are open (server.max_sessions); try again later"}})
            await ws.close(code=1013)
            return
        outbox: asyncio.Queue = asyncio.Queue()
        queued = [0]  # bytes waiting in the outbox
        inbox: asyncio.Queue = asyncio.Queue(INBOX_MESSAGES)
        loop = asyncio.get_running_loop()
        stalled = asyncio.Event()  # the client does not read what it is sent: it is disconnected

        def put(event: dict[str, Any]) -> None:
            text = json.dumps(event)
            if stalled.is_set() or outbox.qsize() >= OUTBOX_EVENTS or queued[0] + len(text) > OUTBOX_BYTES:
                stalled.set()
                return
            queued[0] += len(text)
            outbox.put_nowait(text)

        def send(event: dict[str, Any]) -> None:  # from any thread
            loop.call_soon_threadsafe(put, event)

        async def writer() -> None:
            while True:
                text = await outbox.get()
                queued[0] -= len(text)
                await ws.send_text(text)

        async def reader() -> None:  # a bounded inbox: a client faster than its session waits (TCP backpressure)
            while True:
                message = await ws.receive()
                if message["type"] == "websocket.disconnect":
                    return
                raw = message.get("text") if message.get("text") is not None else message.get("bytes", b"")
                if len(raw) > limits.max_message_bytes:  # answered now, never queued (memory stays bounded)
                    session.error(f"message of {len(raw)} bytes is over the limit of {limits.max_message_bytes} "
                                  "(server.max_message_bytes); send audio in smaller appends", "message_too_large")
                    continue
                await inbox.put(raw)

        async def handler() -> None:
            while True:
                await session.handle(await inbox.get())

        session = RealtimeSession(bot.engine, send, limits, vad)
        sessions.add(session)
        session.start()
        tasks = [asyncio.create_task(t()) for t in (writer, reader, handler)] + [
            asyncio.create_task(stalled.wait())]
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        except WebSocketDisconnect:
            pass
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            session.close()
            sessions.discard(session)
            if stalled.is_set():  # a reader that never reads would hold the close handshake too
                try:
                    await asyncio.wait_for(ws.close(code=1008, reason="the client does not read its events"), 2)
                except Exception:
                    pass
            for task in list(session.tasks):
                try:
                    await asyncio.wait_for(task, 30)
                except Exception:
                    pass

    return app


def _transcribe(bot: Assistant, data: bytes, language: str | None, max_seconds: float):
    """The upload through ``Stages.hear``, as ``assistant transcribe`` and a turn hear it (the STT's
    own lock: never at once with a realtime session's turn on the same model)."""
    from assistant.audio.io import AudioTooLongError, UnsupportedAudioError, decode_bytes

    try:  # the client's file name plays no part: the format is sniffed and pinned, no path is made of it
        audio = decode_bytes(data, 16000, "the uploaded file", max_seconds=max_seconds)
    except UnsupportedAudioError as e:
        raise HTTPException(415, str(e)) from None
    except AudioTooLongError as e:
        raise HTTPException(413, f"{e.message} (server.max_turn_audio_s)") from None
    except AssistantError as e:
        raise HTTPException(400, str(e)) from None
    if audio.duration == 0:
        raise HTTPException(400, "the uploaded audio is empty")
    try:
        return bot.stages.hear(Utterance(audio), language=language).transcript
    except AssistantError as e:
        raise HTTPException(500, str(e)) from None


def _synthesize(bot: Assistant, text: str, language: str, fmt: str) -> bytes:
    """The text through ``Stages.speak``, as ``assistant say`` and a reply say it (speakable hook,
    the voices' lock)."""
    from assistant.audio.io import save_audio

    try:
        voice, chunks = bot.stages.speak(text, language)
        audio = AudioChunk.concat(list(chunks))
    except AssistantError as e:
        raise HTTPException(500, str(e)) from None
    if voice is None:
        raise HTTPException(400, "input has no words a voice can speak (only symbols or emoji)")
    with tempfile.TemporaryDirectory() as d:
        path = save_audio(audio, Path(d) / f"speech.{'opus' if fmt == 'opus' else fmt}")
        return path.read_bytes()
