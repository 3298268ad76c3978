"""`assistant serve` against clients that mean harm or are simply wrong: every case of the
hostile matrix (issue 20) as a test. The tiny random-weight models: the protocol, the limits and
the wiring, not the answers' quality; a server with small limits and a key, one without a key."""

from __future__ import annotations

import asyncio
import base64
import json
import threading
import time

import httpx
import numpy as np
import pytest

from assistant.core.types import AudioChunk
from tests.modes.server.test_server import free_port, next_of
from tests.support.shared import shared_audio

uvicorn = pytest.importorskip("uvicorn")
websockets_sync = pytest.importorskip("websockets.sync.client")
from websockets.exceptions import InvalidStatus  # noqa: E402

KEY = "hostile-key-456"
LIMITS = {"max_message_bytes": 200_000, "max_turn_audio_s": 5.0, "max_text_chars": 200, "max_queued_turns": 2,
          "allowed_origins": ["https://trusted.example"]}


def _serve(app):
    port = free_port()
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not srv.started and time.monotonic() < deadline:
        time.sleep(0.05)
    return srv, thread, port


@pytest.fixture(scope="module")
def hostile(tmp_path_factory, tiny_whisper_path, tiny_llm_path):
    """Two apps over one bot: small limits with a key (``keyed``) and the same without a key (``open``)."""
    import os

    from assistant.config import load_config
    from assistant.modes.file import Assistant
    from assistant.modes.server.app import create_app

    d = tmp_path_factory.mktemp("hostile")
    os.environ["ASSISTANT_HOSTILE_KEY"] = KEY
    cfg = load_config(None, [
        f"stt={{backend: whisper, model: {tiny_whisper_path}, sample_len: 8, beam_size: null}}",
        f"llm={{backend: transformers, model: {tiny_llm_path}, max_new_tokens: 24, temperature: 0}}",
        "tts={voices: {}, fallback: {backend: espeak}}", "guard.no_speech_threshold=1.0",
        "language={check_reply: false, min_probability: 0.0, languages: [en]}",
        f"log.path={d / 'turns.jsonl'}", "audio.vad=energy"])
    bot = Assistant.from_config(config=cfg)
    bot.load()
    keyed = cfg.server.model_copy(update={**LIMITS, "api_key_env": "ASSISTANT_HOSTILE_KEY"})
    opened = cfg.server.model_copy(update=LIMITS)
    apps = [create_app(bot, keyed), create_app(bot, opened)]
    servers = [_serve(app) for app in apps]
    yield {"keyed": f"127.0.0.1:{servers[0][2]}", "open": f"127.0.0.1:{servers[1][2]}", "log": d / "turns.jsonl",
           "bot": bot, "apps": apps}
    for srv, thread, _ in servers:
        srv.should_exit = True
        thread.join(timeout=5)


AUTH = {"Authorization": f"Bearer {KEY}"}


def ws_connect(addr, headers=None, open_=False):
    ws = websockets_sync.connect(f"ws://{addr}/v1/realtime", additional_headers=headers or ({} if open_ else AUTH),
                                 max_size=None)
    assert json.loads(ws.recv(timeout=10))["type"] == "session.created"
    return ws


def upload(addr, data: bytes, name="clip.wav", headers=None, **form):
    return httpx.post(f"http://{addr}/v1/audio/transcriptions", headers=headers if headers is not None else AUTH,
                      files={"file": (name, data)}, data={"model": "whisper", **form}, timeout=120)


def short_speech(tmp_path) -> bytes:
    from assistant.audio.io import load_audio

    audio = load_audio(shared_audio("fleurs") / "fleurs-en-001.ogg", 16000)
    return flac_bytes(AudioChunk(audio.samples[:16000 * 3], 16000), tmp_path)


def flac_bytes(audio: AudioChunk, tmp_path) -> bytes:
    from assistant.audio.io import save_audio

    return save_audio(audio, tmp_path / "clip.flac").read_bytes()


# ------------------------------------------------------------------ uploads: no paths, no protocols


def playlists(target: str) -> dict[str, bytes]:
    return {
        "hls": f"#EXTM3U\n#EXT-X-TARGETDURATION:11\n#EXT-X-MEDIA-SEQUENCE:0\n#EXTINF:11.0,\n{target}\n"
               "#EXT-X-ENDLIST\n".encode(),
        "concat": f"ffconcat version 1.0\nfile '{target}'\n".encode(),
        "sdp": b"v=0\no=- 0 0 IN IP4 127.0.0.1\ns=x\nc=IN IP4 127.0.0.1\nt=0 0\nm=audio 5004 RTP/AVP 0\n",
    }


@pytest.mark.parametrize("name", ["clip.wav", "clip.m3u8", "clip.flac", "x"])
@pytest.mark.parametrize("kind", ["hls", "concat", "sdp"])
def test_an_uploaded_playlist_never_reads_the_servers_files(hostile, name, kind):
    target = str(shared_audio("jfk.flac"))  # a real speech file on the server
    r = upload(hostile["keyed"], playlists(target)[kind], name)
    assert r.status_code == 415, r.text
    body = r.json()["error"]["message"]
    assert "not audio in a format accepted here" in body and target not in body and "text" not in r.json()


def test_the_decoder_accepts_real_containers_and_pins_their_format(tmp_path):
    import subprocess

    from assistant.audio.io import UnsupportedAudioError, decode_bytes, sniff_format

    source = shared_audio("jfk.flac")
    for ext, fmt in [("wav", "wav"), ("mp3", "mp3"), ("m4a", "mov"), ("webm", "matroska"), ("ogg", "ogg"),
                     ("opus", "ogg"), ("aac", "aac"), ("aiff", "aiff"), ("flac", "flac")]:
        path = tmp_path / f"x.{ext}"
        subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(source), "-t", "2", str(path)], check=True)
        data = path.read_bytes()
        assert sniff_format(data) == fmt, ext
        assert abs(decode_bytes(data, 16000, "upload", max_seconds=10).duration - 2.0) < 0.1, ext
    for data in playlists(str(source)).values():
        with pytest.raises(UnsupportedAudioError):
            decode_bytes(data, 16000, "upload")


def test_a_small_file_that_decodes_to_ten_minutes_is_refused_while_decoding(hostile, tmp_path):
    from assistant.audio.io import AudioTooLongError, decode_bytes

    long = flac_bytes(AudioChunk(np.zeros(16000 * 600, np.float32), 16000), tmp_path)
    assert len(long) < LIMITS["max_message_bytes"]  # ten minutes of silence in about 100 KB
    with pytest.raises(AudioTooLongError):
        decode_bytes(long, 16000, "upload", max_seconds=5)
    r = upload(hostile["keyed"], long, "clip.flac")
    assert r.status_code == 413 and "max_turn_audio_s" in r.json()["error"]["message"]
    # ffmpeg stops at the limit: the decode of 10 min is cut short (its output is bounded)
    short = decode_bytes(flac_bytes(AudioChunk(np.zeros(16000 * 4, np.float32), 16000), tmp_path), 16000, "x", 5)
    assert short.duration == pytest.approx(4.0, abs=0.05)


@pytest.mark.parametrize("name", ["a" * 300 + ".wav", "clip\x00.wav", "../../etc/passwd", "c:\\x\\y.wav", "é.wav"])
def test_odd_upload_filenames_play_no_part(hostile, name, tmp_path):
    data = short_speech(tmp_path)
    r = upload(hostile["keyed"], data, name)
    assert r.status_code == 200, r.text
    assert isinstance(r.json()["text"], str)


@pytest.mark.parametrize("data", [b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 5000, b"RIFF\x10\x00\x00\x00WAVEjunk",
                                  b"fLaC" + b"\xff" * 100, b"OggS" + b"\x00" * 100])
def test_corrupt_uploads_are_400_and_show_no_server_path(hostile, data):
    r = upload(hostile["keyed"], data, "clip.m4a")
    assert r.status_code == 400, r.text
    message = r.json()["error"]["message"]
    assert "/tmp" not in message and "assistant-" not in message and ".upload" not in message


def test_an_empty_upload_is_400(hostile):
    assert upload(hostile["keyed"], b"", "clip.wav").status_code == 400


def test_a_huge_upload_is_refused_before_its_body_is_read(hostile):
    import socket

    host, port = hostile["keyed"].split(":")
    with socket.create_connection((host, int(port)), timeout=10) as s:
        s.sendall(f"POST /v1/audio/transcriptions HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {KEY}\r\n"
                  "Content-Type: multipart/form-data; boundary=x\r\nContent-Length: 100000000\r\n\r\n".encode())
        answer = b""
        while b"max_message_bytes" not in answer and (chunk := s.recv(4096)):  # answered without a byte of the body
            answer += chunk
        answer = answer.decode()
    assert answer.startswith("HTTP/1.1 413") and "max_message_bytes" in answer


def test_a_streamed_body_over_the_limit_stops_being_read():
    """The body limit counts what arrives and stops reading there: the app never sees the rest
    (no 100 MB spooled to the temp dir first)."""
    from assistant.modes.server.app import BodyLimit

    read, sent = [], []

    async def app(scope, receive, send):  # reads everything, as a form parser would
        while True:
            message = await receive()
            read.append(len(message["body"]))
            if not message.get("more_body"):
                break
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    chunks = iter([{"type": "http.request", "body": b"x" * 65536, "more_body": True}] * 1600)  # 100 MB

    async def receive():
        return next(chunks)

    async def send(message):
        sent.append(message)

    asyncio.run(BodyLimit(app, limit=300_000)({"type": "http", "headers": []}, receive, send))
    assert sum(read) <= 300_000 and len(read) <= 5
    assert sent[0]["status"] == 413 and b"max_message_bytes" in sent[1]["body"]


def test_a_lone_surrogate_in_speech_input_is_400(hostile):
    body = '{"model": "tts", "input": "Hello \\ud800 there", "voice": "en"}'
    r = httpx.post(f"http://{hostile['keyed']}/v1/audio/speech", content=body,
                   headers={**AUTH, "Content-Type": "application/json"}, timeout=60)
    assert r.status_code == 400 and "surrogate" in r.json()["error"]["message"]


# ------------------------------------------------------------------ Host and Origin


@pytest.mark.parametrize("which", ["keyed", "open"])
def test_a_foreign_host_header_is_refused_everywhere(hostile, which):
    addr = hostile[which]
    r = httpx.get(f"http://{addr}/", headers={"Host": "evil.example"})
    assert r.status_code == 400
    r = httpx.post(f"http://{addr}/v1/audio/speech", json={"input": "Hi", "voice": "en"},
                   headers={**AUTH, "Host": f"evil.example:{addr.split(':')[1]}"})
    assert r.status_code == 400
    with pytest.raises(InvalidStatus):
        websockets_sync.connect(f"ws://{addr}/v1/realtime", additional_headers={**AUTH, "Host": "evil.example"})
    for host in ("localhost", f"localhost:{addr.split(':')[1]}", "127.0.0.1", f"[::1]:{addr.split(':')[1]}"):
        assert httpx.get(f"http://{addr}/", headers={"Host": host}).status_code == 200, host


def test_the_websocket_checks_origin(hostile):
    addr = hostile["open"]  # no key: what a web page could reach
    for origin in ("https://evil.example", "null", f"http://evil.example:{addr.split(':')[1]}", "file://"):
        with pytest.raises(InvalidStatus) as refused:
            websockets_sync.connect(f"ws://{addr}/v1/realtime", origin=origin)
        assert refused.value.response.status_code == 403
    for origin in (f"http://{addr}", f"http://localhost:{addr.split(':')[1]}", "http://127.0.0.1:5173",
                   "https://trusted.example"):
        ws = websockets_sync.connect(f"ws://{addr}/v1/realtime", origin=origin)
        assert json.loads(ws.recv(timeout=10))["type"] == "session.created"
        ws.close()
    ws = ws_connect(addr, open_=True)  # no Origin: not a browser
    ws.close()


def test_a_foreign_origin_post_never_reaches_the_model(hostile, tmp_path):
    addr = hostile["open"]
    data = short_speech(tmp_path)
    r = upload(addr, data, headers={"Origin": "https://evil.example"})
    assert r.status_code == 403 and r.json()["error"]["code"] == "origin_not_allowed"
    r = httpx.post(f"http://{addr}/v1/audio/speech", json={"input": "Hi", "voice": "en"},
                   headers={"Origin": "https://evil.example"})
    assert r.status_code == 403
    assert upload(addr, data, headers={"Origin": f"http://{addr}"}).status_code == 200


# ------------------------------------------------------------------ realtime: wrong types and limits

WRONG = [
    {"type": "session.update", "session": {"audio": {"input": {"format": "pcm16"}}}},
    {"type": "session.update", "session": {"audio": {"input": {"turn_detection": "server_vad"}}}},
    {"type": "session.update", "session": {"audio": "x"}},
    {"type": "session.update", "session": "x"},
    {"type": "session.update", "session": {"instructions": 5}},
    {"type": "session.update", "session": {"turn_detection": {"type": "server_vad", "silence_duration_ms": "x"}}},
    {"type": "conversation.item.create", "item": "hi"},
    {"type": "conversation.item.create", "item": {"type": "message", "role": "user", "content": [1]}},
    {"type": "conversation.item.create", "item": {"type": "message", "role": "user", "content": "hi"}},
    {"type": "conversation.item.create"},
    {"type": "input_audio_buffer.append", "audio": 5},
    {"type": "input_audio_buffer.append"},
    {"type": "response.create", "response": "x"},
    {"type": "input_audio_buffer.commit", "event_id": 7},
]


def test_wrong_json_types_get_an_error_event_and_the_connection_lives(hostile):
    ws = ws_connect(hostile["keyed"])
    for event in WRONG:
        ws.send(json.dumps(event))
        error = next_of(ws, "error", timeout=20)["error"]
        assert error["code"] == "invalid_event", (event, error)
    for raw in ('{"type": "session.update", "session": {"audio": {"input": {"format": '
                '{"type": "audio/pcm", "rate": 1e400}}}}}',
                "[" * 90_000 + "]" * 90_000,  # (under the 200 KB message limit; 100,000 deep is over it)
                '{"type": "session.update", "session": ' + '{"a": ' * 25_000 + "1" + "}" * 25_001):
        ws.send(raw)
        assert next_of(ws, "error", timeout=20)["error"]["code"] in ("invalid_event", "invalid_json")
    ws.send(json.dumps({"type": "session.update", "session": {"instructions": "Be brief."}}))
    assert next_of(ws, "session.updated")["session"]["instructions"] == "Be brief."
    ws.close()


def test_error_events_never_echo_a_large_client_string(hostile):
    ws = ws_connect(hostile["keyed"])
    huge = "x" * 150_000
    for event in ({"type": huge}, {"type": "session.update", "session": {"instructions": huge}},
                  {"type": "conversation.item.create", "event_id": huge, "item": {}}):
        ws.send(json.dumps(event))
        reply = ws.recv(timeout=20)
        assert json.loads(reply)["type"] == "error" and len(reply) < 2000
    ws.close()


def test_a_message_over_the_limit_is_answered_by_the_app(hostile):
    ws = ws_connect(hostile["keyed"])
    ws.send(json.dumps({"type": "input_audio_buffer.append", "audio": "A" * 1_000_000}))
    assert next_of(ws, "error")["error"]["code"] == "message_too_large"
    ws.close()


def test_serve_sets_the_frameworks_websocket_limit_above_the_apps(monkeypatch):
    import uvicorn as uv

    from assistant.cli import serve

    seen = {}
    monkeypatch.setattr(uv.Server, "run", lambda self: seen.update(vars(self.config)))
    monkeypatch.setattr("assistant.modes.file.Assistant.load", lambda self: None)
    args = type("A", (), {"overrides": ["stt.backend=whisper"], "config": None, "host": None, "port": 8123})()
    serve.run_serve(args)
    assert seen["ws_max_size"] >= 4 * 2_000_000 and seen["port"] == 8123


def test_user_text_is_bounded_and_lone_surrogates_refused(hostile):
    ws = ws_connect(hostile["keyed"])
    ws.send(json.dumps({"type": "conversation.item.create", "item": {
        "type": "message", "role": "user", "content": [{"type": "input_text", "text": "word " * 20_000}]}}))
    assert next_of(ws, "error")["error"]["code"] == "text_too_long"
    ws.send('{"type": "conversation.item.create", "item": {"type": "message", "role": "user", '
            '"content": [{"type": "input_text", "text": "hi \\udc00"}]}}')
    assert "surrogate" in next_of(ws, "error")["error"]["message"]
    ws.send(json.dumps({"type": "response.create"}))
    assert next_of(ws, "error")["error"]["code"] == "no_input"
    ws.close()


def say(ws, text):
    ws.send(json.dumps({"type": "conversation.item.create", "item": {
        "type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}}))
    ws.send(json.dumps({"type": "response.create"}))


def test_queued_turns_are_bounded_and_dropped_when_the_client_leaves(hostile):
    log = hostile["log"]
    lines = lambda: log.read_text().count("\n") if log.exists() else 0  # noqa: E731
    ws = ws_connect(hostile["keyed"])
    for i in range(6):
        say(ws, f"Tell me a long story number {i}.")
    assert next_of(ws, "error")["error"]["code"] == "too_many_turns"  # 1 running + 2 waiting, the rest refused
    before = lines()
    ws.close()  # now: the running turn is cancelled, the two waiting never start
    deadline = time.monotonic() + 60
    while lines() == before and time.monotonic() < deadline:  # the running turn's record, when it ends
        time.sleep(0.1)
    time.sleep(3)
    assert lines() - before <= 1, "turns queued by a client that left were run"


def test_a_flood_of_tiny_appends_does_not_hold_up_another_client(hostile):
    """While one client floods 20,000 tiny appends, another's request is answered before the
    flood is worked through (each connection's work is its own; before, the flood held the event
    loop until its last append). Ordering, not a stopwatch."""
    flood, other = ws_connect(hostile["keyed"]), ws_connect(hostile["keyed"])
    tiny = json.dumps({"type": "input_audio_buffer.append", "audio": base64.b64encode(b"\x00\x01" * 24).decode()})
    sent = threading.Event()

    def flooding():
        for i in range(20_000):
            flood.send(tiny)
            if i == 2000:
                sent.set()
        flood.send(json.dumps({"type": "session.update", "session": {}}))

    thread = threading.Thread(target=flooding)
    thread.start()
    assert sent.wait(60)
    other.send(json.dumps({"type": "session.update", "session": {"instructions": "Other."}}))
    assert next_of(other, "session.updated", timeout=60)["session"]["instructions"] == "Other."
    answered = time.monotonic()
    next_of(flood, "session.updated", timeout=120)
    assert answered < time.monotonic()
    thread.join()
    flood_done = time.monotonic()
    assert answered < flood_done
    flood.close()
    other.close()


def test_a_client_that_does_not_read_is_disconnected(hostile, monkeypatch):
    """A client that sends but never reads: once its outgoing events pass the bound, its session
    is closed (memory bounded), and the others carry on."""
    import socket

    from websockets.client import ClientProtocol
    from websockets.uri import parse_uri

    from assistant.modes.server import app as app_module

    monkeypatch.setattr(app_module, "OUTBOX_BYTES", 1_000_000)
    sessions = hostile["apps"][0].state.sessions
    baseline = len(sessions)
    host, port = hostile["keyed"].split(":")
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect((host, int(port)))
    proto = ClientProtocol(parse_uri(f"ws://{hostile['keyed']}/v1/realtime"))
    request = proto.connect()
    request.headers["Authorization"] = f"Bearer {KEY}"
    proto.send_request(request)
    sock.sendall(b"".join(proto.data_to_send()))
    answer = b""
    while b"\r\n\r\n" not in answer:
        answer += sock.recv(1)  # the handshake only, byte by byte: nothing of the events after it
    proto.receive_data(answer)
    assert proto.handshake_exc is None
    deadline = time.monotonic() + 10
    while len(sessions) == baseline and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(sessions) == baseline + 1
    sock.settimeout(2)
    update = json.dumps({"type": "session.update", "session": {"instructions": "z" * 30_000}})
    try:
        for _ in range(600):  # each answered with a 30 KB session.updated this client never reads
            proto.send_text(update.encode())
            sock.sendall(b"".join(proto.data_to_send()))
    except OSError:
        pass  # the server stopped reading it
    deadline = time.monotonic() + 60
    while len(sessions) > baseline and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(sessions) == baseline, "the session of a client that does not read was kept"
    other = ws_connect(hostile["keyed"])
    other.send(json.dumps({"type": "session.update", "session": {"instructions": "Still here."}}))
    assert next_of(other, "session.updated")["session"]["instructions"] == "Still here."
    other.close()
    sock.close()


def test_max_turn_audio_is_honoured_with_server_vad(hostile):
    ws = ws_connect(hostile["keyed"])
    rng = np.random.default_rng(0)  # 1 s of quiet, then 11 s of loud, unsteady sound without a pause:
    t = np.arange(24000 * 11) / 24000  # the energy VAD hears speech all along
    loud = rng.standard_normal(len(t)) * (0.3 + 0.25 * np.sin(2 * np.pi * 4 * t)) * 0.5
    samples = np.concatenate([rng.standard_normal(24000) * 0.001, loud])
    pcm = (np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes()
    for i in range(0, len(pcm), 9600):
        ws.send(json.dumps({"type": "input_audio_buffer.append", "audio": base64.b64encode(pcm[i:i + 9600]).decode()}))
    started = next_of(ws, "input_audio_buffer.speech_started")
    stopped = next_of(ws, "input_audio_buffer.speech_stopped")
    assert 4000 <= stopped["audio_end_ms"] - started["audio_start_ms"] <= 5000 + 600, (started, stopped)
    heard = next_of(ws, "conversation.item.input_audio_transcription.completed", timeout=120)
    assert heard["usage"]["type"] == "duration" and heard["usage"]["seconds"] <= 5.0 + 0.6
    ws.close()
