"""`assistant serve` driven by the official `openai` package (and raw WebSockets for bad input),
with the tiny random-weight models: the protocol and the wiring, not the answers' quality."""

from __future__ import annotations

import base64
import json
import socket
import threading
import time

import numpy as np
import pytest

from assistant.audio.io import load_audio
from tests.support.shared import shared_audio

openai = pytest.importorskip("openai")
uvicorn = pytest.importorskip("uvicorn")
websockets_sync = pytest.importorskip("websockets.sync.client")

KEY = "test-key-123"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory, tiny_whisper_path, tiny_llm_path):
    import os

    from assistant.config import load_config
    from assistant.modes.file import Assistant
    from assistant.modes.server.app import create_app

    d = tmp_path_factory.mktemp("serve")
    os.environ["ASSISTANT_TEST_API_KEY"] = KEY
    cfg = load_config(None, [
        f"stt={{backend: whisper, model: {tiny_whisper_path}, sample_len: 8, beam_size: null}}",
        f"llm={{backend: transformers, model: {tiny_llm_path}, max_new_tokens: 24, temperature: 0}}",
        "tts={voices: {}, fallback: {backend: espeak}}", "guard.no_speech_threshold=1.0",
        "language={check_reply: false, min_probability: 0.0, languages: [en]}",
        f"log.path={d / 'turns.jsonl'}", "server.api_key_env=ASSISTANT_TEST_API_KEY", "server.max_sessions=20",
        "audio.vad=energy"])
    bot = Assistant.from_config(config=cfg)
    bot.load()
    port = free_port()
    srv = uvicorn.Server(uvicorn.Config(create_app(bot), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not srv.started and time.monotonic() < deadline:
        time.sleep(0.05)
    yield f"127.0.0.1:{port}", d / "turns.jsonl"
    srv.should_exit = True
    thread.join(timeout=5)


def client(server, key=KEY):
    return openai.OpenAI(api_key=key, base_url=f"http://{server[0]}/v1", max_retries=0)


def pcm24(path) -> bytes:
    audio = load_audio(path, 24000)
    return (np.clip(audio.samples, -1, 1) * 32767).astype("<i2").tobytes()


def test_transcriptions_and_speech_endpoints(server):
    c = client(server)
    jfk = shared_audio("jfk.flac")
    with open(jfk, "rb") as f:
        verbose = c.audio.transcriptions.create(model="whisper", file=f, response_format="verbose_json")
    assert verbose.language == "en" and isinstance(verbose.text, str)
    with open(jfk, "rb") as f:
        srt = c.audio.transcriptions.create(model="whisper", file=f, response_format="srt")
    assert "-->" in srt
    speech = c.audio.speech.create(model="tts", voice="en", input="Hello there, how are you?", response_format="wav")
    data = speech.read()
    assert data[:4] == b"RIFF" and len(data) > 10000


def test_wrong_or_missing_key_is_refused(server):
    with pytest.raises(openai.AuthenticationError):
        client(server, key="wrong").audio.speech.create(model="tts", voice="en", input="Hi")
    from websockets.exceptions import WebSocketException

    with pytest.raises(WebSocketException):  # refused at the handshake, or closed at once
        websockets_sync.connect(f"ws://{server[0]}/v1/realtime").recv(timeout=5)


def test_realtime_audio_turn_with_the_openai_client(server):
    c = client(server)
    with c.realtime.connect(model="assistant") as conn:
        created = conn.recv()
        assert created.type == "session.created"
        conn.session.update(session={"type": "realtime", "instructions": "Be brief.",
                                     "audio": {"input": {"turn_detection": None}}})
        assert conn.recv().type == "session.updated"
        audio = pcm24(shared_audio("jfk.flac"))
        for i in range(0, len(audio), 48000):
            conn.input_audio_buffer.append(audio=base64.b64encode(audio[i:i + 48000]).decode())
        conn.input_audio_buffer.commit()
        seen, deltas = [], 0
        while True:
            event = conn.recv()
            seen.append(event.type)
            if event.type == "response.output_audio.delta":
                deltas += 1
            if event.type == "response.done":
                break
    assert "conversation.item.input_audio_transcription.completed" in seen
    assert "response.created" in seen and deltas > 0 and event.response.status == "completed"
    rec = json.loads(server[1].read_text().splitlines()[-1])
    assert rec["input"] == "realtime" and rec["session"]
    # one id scheme: the session the client was told is the one in the log, and the turn's id
    assert rec["session"] == created.session.id and rec["id"] == f"{rec['session']}-{rec['turn']}"


def raw(server):
    ws = websockets_sync.connect(f"ws://{server[0]}/v1/realtime", additional_headers={"Authorization": f"Bearer {KEY}"})
    assert json.loads(ws.recv(timeout=10))["type"] == "session.created"
    return ws


def next_of(ws, kind, timeout=60):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        event = json.loads(ws.recv(timeout=max(0.1, end - time.monotonic())))
        if event["type"] == kind:
            return event
    raise AssertionError(f"no {kind}")


def test_bad_input_gets_error_events_and_the_connection_lives(server):
    ws = raw(server)
    ws.send("{not json")
    assert next_of(ws, "error")["error"]["code"] == "invalid_json"
    ws.send(json.dumps({"type": "no.such.event"}))
    assert next_of(ws, "error")["error"]["code"] == "unknown_event"
    ws.send(json.dumps({"type": "input_audio_buffer.append", "audio": "!!!"}))
    assert next_of(ws, "error")["error"]["code"] == "invalid_event"
    ws.send(json.dumps({"type": "input_audio_buffer.append", "audio": "A" * 3_000_000}))
    assert next_of(ws, "error")["error"]["code"] == "message_too_large"
    ws.send(json.dumps({"type": "session.update", "session": {"audio": {"input": {"format": {"type": "audio/pcmu"}}}}}))
    assert next_of(ws, "error")["error"]["code"] == "unsupported_format"
    ws.send(json.dumps({"type": "session.update", "session": {"audio": {"input": {"turn_detection": {
        "type": "server_vad", "silence_duration_ms": 20}}}}}))
    assert "silence_duration_ms" in next_of(ws, "error")["error"]["message"]
    ws.send(json.dumps({"type": "conversation.item.create",
                        "item": {"type": "message", "role": "user",
                                 "content": [{"type": "input_text", "text": "Hi"}]}}))
    ws.send(json.dumps({"type": "response.create"}))
    done = next_of(ws, "response.done")
    assert done["response"]["status"] == "completed"
    ws.close()


def test_twenty_sessions_at_once_are_separate_and_the_next_is_refused(server):
    socks = [raw(server) for _ in range(20)]
    extra = websockets_sync.connect(f"ws://{server[0]}/v1/realtime",
                                    additional_headers={"Authorization": f"Bearer {KEY}"})
    assert next_of(extra, "error")["error"]["code"] == "too_many_sessions"
    t0 = time.monotonic()
    for i, ws in enumerate(socks):
        ws.send(json.dumps({"type": "conversation.item.create", "item": {
            "type": "message", "role": "user", "content": [{"type": "input_text", "text": f"My number is {i}."}]}}))
        ws.send(json.dumps({"type": "response.create"}))
    sessions = set()
    for ws in socks:
        done = next_of(ws, "response.done", timeout=240)
        assert done["response"]["status"] == "completed"
        meta = done["response"]["metadata"]
        assert meta["turn"] == "1"  # each connection numbers its own turns: nothing shared
        sessions.add(meta["session"])
    print(f"20 sessions answered in {time.monotonic() - t0:.1f} s")
    socks[0].close()  # a client that leaves mid-way does not disturb the others
    socks[1].send(json.dumps({"type": "conversation.item.create", "item": {
        "type": "message", "role": "user", "content": [{"type": "input_text", "text": "And now?"}]}}))
    socks[1].send(json.dumps({"type": "response.create"}))
    assert next_of(socks[1], "response.done", timeout=120)["response"]["metadata"]["turn"] == "2"
    for ws in socks[1:]:
        ws.close()
    assert len(sessions) == 20


def test_server_vad_turn_and_barge_in_with_the_openai_client(server):
    c = client(server)
    question = pcm24(shared_audio("fleurs", "fleurs-en-004.ogg"))
    interruption = pcm24(shared_audio("fleurs", "fleurs-en-003.ogg"))
    silence = bytes(2 * 24000)  # 1 s: ends the utterance for the server's VAD
    with c.realtime.connect(model="assistant") as conn:
        assert conn.recv().type == "session.created"

        def append(pcm):
            for i in range(0, len(pcm), 9600):  # 200 ms appends
                conn.input_audio_buffer.append(audio=base64.b64encode(pcm[i:i + 9600]).decode())

        append(question + silence)
        seen = []
        while True:
            event = conn.recv()
            seen.append(event.type)
            if event.type == "response.output_audio.delta":
                break
        assert {"input_audio_buffer.speech_started", "input_audio_buffer.speech_stopped",
                "conversation.item.input_audio_transcription.completed", "response.created"} <= set(seen)
        append(interruption + silence)  # the user talks over the reply
        while event.type != "response.done":
            event = conn.recv()
    assert event.response.status == "cancelled"
    first_audio = json.loads(event.response.metadata["timings_ms"])["first_audio"]
    print(f"end of speech → first audio delta (server side): {first_audio:.0f} ms")


def test_the_page_and_the_browser_style_key(server):
    import httpx

    page = httpx.get(f"http://{server[0]}/", timeout=10)
    assert page.status_code == 200 and "audioWorklet.addModule" in page.text
    assert "echoCancellation: true" in page.text and "ScriptProcessor" not in page.text
    ws = websockets_sync.connect(f"ws://{server[0]}/v1/realtime",
                                 subprotocols=["realtime", f"openai-insecure-api-key.{KEY}"])
    assert json.loads(ws.recv(timeout=10))["type"] == "session.created" and ws.subprotocol == "realtime"
    ws.close()


def drive_the_page(address: str, key: str | None, speech_path, tmp_path, timeout_ms: int = 90_000,
                   after_s: float = 3.0) -> dict:
    """Open the page in Debian's chromium with a fake microphone playing `speech_path` (1 s of quiet
    before, `after_s` after: chromium plays the file in a loop, and the next loop would barge in), wait for a turn
    whose reply was played, keep a screenshot
    (ASSISTANT_TEST_ARTIFACTS, else `tmp_path`) and return the captions, stats and screenshot path."""
    import os
    import shutil

    from assistant.audio.io import save_audio
    from assistant.core.types import AudioChunk

    sync_api = pytest.importorskip("playwright.sync_api")
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("no chromium on PATH (Debian: apt-get install chromium; bash scripts/setup.sh --test does)")
    speech = load_audio(speech_path, 48000)
    quiet = np.zeros(int(48000 * after_s), np.float32)
    wav = save_audio(AudioChunk(np.concatenate([np.zeros(48000, np.float32), speech.samples, quiet]), 48000),
                     tmp_path / "mic.wav")
    out_dir = os.environ.get("ASSISTANT_TEST_ARTIFACTS") or str(tmp_path)
    os.makedirs(out_dir, exist_ok=True)
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=[
            "--use-fake-device-for-media-stream", f"--use-file-for-fake-audio-capture={wav}",
            "--use-fake-ui-for-media-stream", "--autoplay-policy=no-user-gesture-required", "--no-sandbox"])
        page = browser.new_page()
        page.goto(f"http://{address}/")
        if key:
            page.fill("#key", key)
        page.click("#start")
        shot = os.path.join(out_dir, "serve-page.png")
        try:
            page.wait_for_selector(".user", timeout=timeout_ms)
            page.wait_for_function("window.assistantStats.turns >= 1 && window.assistantStats.playedSeconds > 0.5",
                                   timeout=timeout_ms)
        finally:
            page.screenshot(path=shot, full_page=True)
            print("stats:", page.evaluate("window.assistantStats"), page.inner_text("#log")[:2000])
        result = {"user": page.inner_text(".user"), "assistant": page.inner_text(".assistant"),
                  "stats": page.evaluate("window.assistantStats"), "screenshot": shot}
        browser.close()
    print(f"screenshot: {shot}; {result['stats']}")
    return result


def test_the_page_in_headless_chromium(server, tmp_path):
    """The page with a fake microphone playing a recorded question: both captions appear and the
    reply is played. The screenshot is kept (ASSISTANT_TEST_ARTIFACTS, else the test's tmp dir)."""
    seen = drive_the_page(server[0], KEY, shared_audio("fleurs", "fleurs-en-004.ogg"), tmp_path)
    stats = seen["stats"]
    assert seen["user"].startswith("You (en") and seen["assistant"].startswith("Assistant")
    assert stats["audioDeltas"] > 0 and stats["playedSeconds"] > 0.5


def test_a_client_that_leaves_mid_response_does_not_disturb_the_server(server):
    ws = raw(server)
    ws.send(json.dumps({"type": "conversation.item.create", "item": {
        "type": "message", "role": "user", "content": [{"type": "input_text", "text": "Tell me a story."}]}}))
    ws.send(json.dumps({"type": "response.create"}))
    next_of(ws, "response.created")
    ws.close()  # gone before the reply is done
    other = raw(server)
    other.send(json.dumps({"type": "conversation.item.create", "item": {
        "type": "message", "role": "user", "content": [{"type": "input_text", "text": "Hello?"}]}}))
    other.send(json.dumps({"type": "response.create"}))
    assert next_of(other, "response.done", timeout=120)["response"]["status"] == "completed"
    other.close()


def test_stt_openai_and_tts_openai_against_our_own_serve(server, tmp_path):
    """The remote backends (`stt: openai`, `tts: openai`) talking to this project's `assistant serve`:
    a recording transcribed, a sentence spoken, and a whole `Assistant.respond` turn over the wire."""
    from assistant.audio.io import load_audio as load
    from assistant.config import load_config
    from assistant.modes.file import Assistant
    from assistant.stt.openai import OpenAISTT
    from assistant.tts.espeak import EspeakTTS
    from assistant.tts.openai import OpenAITTS
    from assistant.tts.voices import VoiceRouter
    from tests.support.fakes import FakeLLM, LoudnessVAD

    url = f"http://{server[0]}/v1"
    jfk = shared_audio("jfk.flac")
    stt = OpenAISTT(base_url=url, api_key_env="ASSISTANT_TEST_API_KEY", timeout_s=120)
    audio = load(jfk, 16000)
    assert stt.detect_language(audio) == {"en": 1.0}
    heard = stt.transcribe(audio, language="en")
    with open(jfk, "rb") as f:  # the same server asked directly: the backend adds nothing, loses nothing
        direct = client(server).audio.transcriptions.create(model="whisper", file=f, language="en")
    assert heard.text == direct.text.strip() and heard.language == "en"

    say = "Ask not what your country can do for you."
    chunks = list(OpenAITTS(base_url=url, voice="en", api_key_env="ASSISTANT_TEST_API_KEY",
                            timeout_s=120).synthesize(say, "en"))
    spoken = sum(c.duration for c in chunks)
    local = sum(c.duration for c in EspeakTTS().synthesize(say, "en"))  # what serve's espeak voice says
    assert spoken == pytest.approx(local, rel=0.1), (spoken, local)

    config = tmp_path / "remote.yaml"
    config.write_text(
        f"stt: {{backend: openai, base_url: '{url}', api_key_env: ASSISTANT_TEST_API_KEY, timeout_s: 120}}\n"
        f"tts:\n  voices:\n    en: {{backend: openai, base_url: '{url}', voice: en, "
        f"api_key_env: ASSISTANT_TEST_API_KEY, timeout_s: 120}}\n"
        f"log: {{path: '{tmp_path / 'turns.jsonl'}'}}\n")
    cfg = load_config(config)
    from assistant.core import registry

    bot = Assistant(cfg, registry.get("stt", cfg.stt.backend).create(cfg.stt), FakeLLM(reply="Sure. Here it is."),
                    VoiceRouter(cfg.tts), vad=LoudnessVAD())
    turn = bot.respond(load(jfk, 16000), output=tmp_path / "reply.wav")
    assert turn.status == "ok", turn.error
    assert turn.text == heard.text and turn.language == "en" and turn.voice == "openai:tts-1/en"
    assert turn.reply_audio.duration > 0.5 and (tmp_path / "reply.wav").stat().st_size > 10000


def say_text(ws, text):
    ws.send(json.dumps({"type": "conversation.item.create", "item": {
        "type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}}))
    ws.send(json.dumps({"type": "response.create"}))


def log_of(server, session_id):
    return [r for r in map(json.loads, server[1].read_text().splitlines()) if r["session"] == session_id]


def test_voice_commands_are_handled_per_session_without_the_llm(server):
    a, b = raw(server), raw(server)
    say_text(a, "Pause listening.")
    done = next_of(a, "response.done")["response"]
    assert "I'm back" in done["output"][0]["content"][0]["transcript"]
    session_a = done["metadata"]["session"]
    say_text(a, "What is the weather like?")  # asleep: ignored, nothing said
    ignored = next_of(a, "response.done")["response"]
    assert ignored["output"][0]["content"][0]["transcript"] == ""
    say_text(b, "What is the weather like?")  # the other session is not paused
    other = next_of(b, "response.done")["response"]
    assert other["output"][0]["content"][0]["transcript"] and other["metadata"]["session"] != session_a
    say_text(a, "I'm back.")
    assert next_of(a, "response.done")["response"]["output"][0]["content"][0]["transcript"].startswith("Welcome back")
    say_text(a, "Tell me a long story about a dragon.")
    say_text(a, "Stop.")  # typed over the reply: cuts it, then is confirmed
    first, second = next_of(a, "response.done")["response"], next_of(a, "response.done")["response"]
    assert first["status"] == "cancelled"
    assert second["output"][0]["content"][0]["transcript"] == "Okay."
    records = log_of(server, session_a)  # the story turn: cut short (ok), or dropped unstarted (interrupted)
    assert [(r["status"], r["command"]) for r in records if r["status"] not in ("ok", "interrupted")] == [
        ("command", "pause"), ("ignored", None), ("command", "resume"), ("command", "stop")]
    story = [r for r in records if r["status"] in ("ok", "interrupted") and "dragon" in (r["transcript"] or "")]
    assert len(story) == 1 and story[0]["interrupted"], records
    a.close()
    b.close()
