"""A loopback stand-in for an OpenAI-compatible speech server, for the ``stt``/``tts: openai`` tests.

It speaks the documented shapes: ``POST /v1/audio/transcriptions`` and ``/translations`` take
multipart form data (``file``, ``model``, ``language``, ``prompt``, ``temperature``,
``response_format``) and answer ``json`` ({text}) or ``verbose_json`` ({task, language, duration,
text, segments[{id, seek, start, end, text, tokens, temperature, avg_logprob, compression_ratio,
no_speech_prob}]}); ``POST /v1/audio/speech`` takes JSON ({model, input, voice, response_format,
speed, instructions}) and streams audio (wav with unknown sizes, as streaming servers send it;
raw pcm at 24 kHz; mp3/opus/flac/aac encoded by ffmpeg). Errors are {error: {message, type}}.

It cannot run Whisper: it checks the upload (a real 16 kHz mono 16-bit WAV) and answers the
text it was told to. The happy-path tests only use ``.url``, so ``assistant serve`` can stand in
for it once it exists (its answers being real transcriptions).
"""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import threading
import time
import wave
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np

from assistant.language.names import WHISPER_LANGUAGES

KEY = "sk-test-secret-987654"
TTS_RATE = 24000
SECONDS_PER_CHAR = 0.02
FORMATS = ("json", "text", "srt", "verbose_json", "vtt")
MIME = {"mp3": "audio/mpeg", "opus": "audio/ogg", "aac": "audio/aac", "flac": "audio/flac",
        "wav": "audio/wav", "pcm": "audio/pcm"}


def speech_for(text: str, rate: int = TTS_RATE) -> np.ndarray:
    """The fake voice: a 220 Hz tone, SECONDS_PER_CHAR per character, as int16."""
    t = np.arange(int(len(text) * SECONDS_PER_CHAR * rate)) / rate
    return (0.3 * 32767 * np.sin(2 * np.pi * 220 * t)).astype("<i2")


def parse_multipart(content_type: str, body: bytes) -> dict[str, tuple[str | None, bytes]]:
    """{field: (filename, bytes)} from a multipart/form-data body."""
    message = BytesParser(policy=HTTP).parsebytes(b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body)
    if not message.is_multipart():
        raise ValueError("the body is not multipart/form-data")
    return {part.get_param("name", header="content-disposition"): (part.get_filename(), part.get_payload(decode=True))
            for part in message.iter_parts()}


class FakeSpeechServer:
    """``mode`` picks how the next requests are answered (``ok`` unless a test says otherwise)."""

    def __init__(self) -> None:
        self.mode = "ok"
        self.key: str | None = None  # when set, requests without "Bearer KEY" get 401
        self.text = "And so my fellow Americans, ask not what your country can do for you."
        self.language = "english"  # verbose_json's language: OpenAI sends the name, vLLM a code
        self.no_speech_prob = 0.02
        self.avg_logprob = -0.25
        self.requests: list[dict] = []
        self.gate = threading.Event()  # mode "gated": the rest of the audio waits for it
        self.engine = None  # when set: engine(AudioChunk, language, prompt) -> Transcript answers
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output quiet
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                try:
                    server.handle(self, body)
                except OSError:  # the client gave up first (timeout tests)
                    pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.httpd.block_on_close = False
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True).start()

    def close(self) -> None:
        self.gate.set()
        self.httpd.shutdown()
        self.httpd.server_close()

    # -- plumbing ----------------------------------------------------------------------------

    @staticmethod
    def send(h, status: int, content_type: str, data: bytes) -> None:
        h.send_response(status)
        h.send_header("Content-Type", content_type)
        h.send_header("Content-Length", str(len(data)))
        h.end_headers()
        h.wfile.write(data)

    def error(self, h, status: int, message: str, kind: str = "invalid_request_error", param=None) -> None:
        body = {"error": {"message": message, "type": kind, "param": param, "code": None}}
        self.send(h, status, "application/json", json.dumps(body).encode())

    def handle(self, h, body: bytes) -> None:
        record = {"path": h.path, "headers": dict(h.headers)}
        self.requests.append(record)
        if self.mode == "slow":
            time.sleep(2)
        if self.key and h.headers.get("Authorization") != f"Bearer {self.key}":
            # Like OpenAI, echo (part of) the key back: the client must not repeat it.
            sent = h.headers.get("Authorization", "")[7:]
            return self.error(h, 401, f"Incorrect API key provided: {sent}. You can find your API key at "
                                      "https://platform.openai.com/account/api-keys.", param=None)
        if self.mode == "500":
            return self.error(h, 500, "CUDA out of memory on the server", kind="server_error")
        if self.mode == "html":
            return self.send(h, 200, "text/html", b"<html><body>Welcome to nginx!</body></html>")
        if h.path in ("/v1/audio/transcriptions", "/v1/audio/translations"):
            return self.transcribe(h, body, record)
        if h.path == "/v1/audio/speech":
            return self.speak(h, body, record)
        self.error(h, 404, f"Invalid URL (POST {h.path})")

    # -- /v1/audio/transcriptions ------------------------------------------------------------

    def transcribe(self, h, body: bytes, record: dict) -> None:
        try:
            fields = parse_multipart(h.headers.get("Content-Type", ""), body)
        except ValueError as e:
            return self.error(h, 400, str(e))
        form = {k: v[1].decode() for k, v in fields.items() if k != "file"}
        record["form"] = form
        if "file" not in fields or "model" not in fields:
            return self.error(h, 400, "you must provide a file and a model", param="file")
        try:
            with wave.open(io.BytesIO(fields["file"][1])) as w:
                record["wav"] = (w.getframerate(), w.getnchannels(), w.getsampwidth())
                record["samples"] = np.frombuffer(w.readframes(w.getnframes()), "<i2")
        except (wave.Error, EOFError) as e:
            return self.error(h, 400, f"Invalid file format ({e}). Supported formats: flac, m4a, mp3, "
                                      "mp4, mpeg, mpga, oga, ogg, wav, webm", param="file")
        fmt = form.get("response_format", "json")
        if fmt not in FORMATS or (self.mode == "no_verbose" and fmt == "verbose_json"):
            return self.error(h, 400, f"response_format '{fmt}' is not supported; use json or text",
                              param="response_format")
        if self.mode == "garbage":
            return self.send(h, 200, "application/json", b'{"transcript": 3}')
        rate, _, _ = record["wav"]
        duration = len(record["samples"]) / rate
        text = "" if self.mode == "silence" else self.text
        if fmt == "text":
            return self.send(h, 200, "text/plain", text.encode())
        if fmt != "verbose_json":
            return self.send(h, 200, "application/json", json.dumps({"text": text}).encode())
        if self.engine is not None:
            return self.send(h, 200, "application/json", json.dumps(self.run_engine(record, form)).encode())
        language = self.language
        if form.get("language"):  # a fixed language is echoed back, by name as OpenAI does
            language = WHISPER_LANGUAGES.get(form["language"], form["language"])
        if h.path.endswith("translations"):
            language = "english"
        segments = [] if not text else [{
            "id": 0, "seek": 0, "start": 0.0, "end": round(duration, 2), "text": " " + text,
            "tokens": [50364, 400, 370], "temperature": float(form.get("temperature", 0)),
            "avg_logprob": self.avg_logprob, "compression_ratio": 1.1, "no_speech_prob": self.no_speech_prob}]
        answer = {"task": "translate" if h.path.endswith("translations") else "transcribe",
                  "language": language, "duration": duration, "text": text, "segments": segments,
                  "usage": {"type": "duration", "seconds": int(np.ceil(duration))}}
        self.send(h, 200, "application/json", json.dumps(answer).encode())

    def run_engine(self, record: dict, form: dict) -> dict:
        """A real transcription as OpenAI's verbose_json (the language by name, as OpenAI sends it)."""
        from assistant.core.types import AudioChunk

        rate = record["wav"][0]
        audio = AudioChunk(record["samples"].astype(np.float32) / 32768.0, rate)
        t = self.engine(audio, form.get("language"), form.get("prompt"))
        segments = [{"id": i, "seek": 0, "start": s.start, "end": s.end, "text": " " + s.text, "tokens": [],
                     "temperature": 0.0, "avg_logprob": s.avg_logprob, "compression_ratio": s.compression_ratio,
                     "no_speech_prob": s.no_speech_probability} for i, s in enumerate(t.segments)]
        return {"task": "transcribe", "language": WHISPER_LANGUAGES[t.language], "duration": t.duration,
                "text": t.text, "segments": segments}

    # -- /v1/audio/speech --------------------------------------------------------------------

    def speak(self, h, body: bytes, record: dict) -> None:
        try:
            request = json.loads(body)
        except ValueError:
            return self.error(h, 400, "We could not parse the JSON body of your request.")
        record["json"] = request
        for name in ("model", "input", "voice"):
            if not request.get(name):
                return self.error(h, 400, f"Missing required parameter: '{name}'.", param=name)
        fmt = request.get("response_format", "mp3")
        if fmt not in MIME:
            return self.error(h, 400, f"Invalid value: '{fmt}'. Supported values are: 'mp3', 'opus', 'aac', "
                                      "'flac', 'wav', and 'pcm'.", param="response_format")
        pcm = speech_for(request["input"]).tobytes()
        if self.mode == "json200":
            return self.send(h, 200, "application/json", json.dumps({"audio": "base64..."}).encode())
        if self.mode == "empty":
            return self.send(h, 200, MIME[fmt], b"")
        if fmt in ("wav", "pcm"):
            return self.stream(h, fmt, pcm)
        self.send(h, 200, MIME[fmt], encode(pcm, fmt))

    def stream(self, h, fmt: str, pcm: bytes) -> None:
        """Close-delimited body written in pieces; wav with the sizes streaming servers can't know."""
        h.send_response(200)
        h.send_header("Content-Type", MIME[fmt])
        h.end_headers()
        h.close_connection = True
        data = pcm
        if fmt == "wav":
            header = io.BytesIO()
            with wave.open(header, "wb") as w:
                w.setnchannels(1)
                w.setsampwidth(2)
                w.setframerate(TTS_RATE)
            head = bytearray(header.getvalue())
            head[4:8] = head[40:44] = b"\xff\xff\xff\xff"
            data = bytes(head) + pcm
        piece = 4801 if self.mode != "gated" else int(0.2 * TTS_RATE * 2) + 44  # odd sizes split samples
        for i in range(0, len(data), piece):
            h.wfile.write(data[i:i + piece])
            h.wfile.flush()
            if self.mode == "gated" and i == 0 and not self.gate.wait(10):
                return
            if self.mode == "stall" and i == 0:
                time.sleep(3)
                return


def encode(pcm: bytes, fmt: str) -> bytes:
    codec = {"mp3": ["-f", "mp3"], "opus": ["-c:a", "libopus", "-f", "ogg"], "flac": ["-f", "flac"],
             "aac": ["-c:a", "aac", "-f", "adts"]}[fmt]
    command = [shutil.which("ffmpeg") or "ffmpeg", "-v", "error", "-f", "s16le", "-ar", str(TTS_RATE),
               "-ac", "1", "-i", "pipe:0", *codec, "pipe:1"]
    return subprocess.run(command, input=pcm, capture_output=True, check=True).stdout
