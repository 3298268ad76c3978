"""``stt: openai`` and ``tts: openai`` against a loopback server with OpenAI's speech endpoints."""

from __future__ import annotations

import socket
import time

import numpy as np
import pytest
from pydantic import ValidationError

from assistant.audio.guard import no_speech_reason
from assistant.config import SpeechGuard, load_config
from assistant.core import registry
from assistant.core.errors import ConfigError, StageError
from assistant.modes.file import Assistant
from assistant.stt.openai import OpenAISTT, OpenAISTTOptions
from assistant.tts.openai import OpenAITTS, OpenAITTSOptions, WavStream
from assistant.tts.voices import VoiceRouter
from tests.support.fakes import FakeLLM, LoudnessVAD, tone
from tests.support.openai_audio_server import KEY, SECONDS_PER_CHAR, TTS_RATE, FakeSpeechServer, speech_for

SAY = "Ask not what your country can do for you."


@pytest.fixture
def server():
    s = FakeSpeechServer()
    yield s
    s.close()


def refused_url() -> str:
    with socket.socket() as s:  # a port that was free a moment ago: nothing listens there
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


def speech(seconds: float = 1.2) -> "tone":
    rng = np.random.default_rng(0)
    audio = tone(seconds, 16000)
    return type(audio)(audio.samples + 0.01 * rng.standard_normal(len(audio.samples)).astype(np.float32), 16000)


# -- STT ----------------------------------------------------------------------------------------

def test_stt_sends_a_16k_wav_and_reads_verbose_json(server, monkeypatch):
    monkeypatch.setenv("MY_STT_KEY", KEY)
    server.key = KEY
    stt = OpenAISTT(base_url=server.url, model="whisper-large-v3", api_key_env="MY_STT_KEY",
                    initial_prompt={"en": "JFK speech.", "*": "Speech."}, temperature=0.2,
                    extra_body={"top_p": 0.9})
    audio = speech().resampled(44100)  # any rate in; 16 kHz on the wire
    t = stt.transcribe(audio, language="en")
    (req,) = server.requests
    assert req["path"] == "/v1/audio/transcriptions"
    assert req["headers"]["Authorization"] == f"Bearer {KEY}"
    assert req["wav"] == (16000, 1, 2)
    sent = audio.resampled(16000).samples
    assert len(req["samples"]) == len(sent)
    assert np.abs(req["samples"] / 32767.0 - sent).max() < 1e-3
    assert req["form"] == {"model": "whisper-large-v3", "temperature": "0.2", "language": "en",
                           "prompt": "JFK speech.", "response_format": "verbose_json", "top_p": "0.9"}
    assert t.text == server.text and t.language == "en"
    assert t.no_speech_probability == pytest.approx(0.02) and t.avg_logprob == pytest.approx(-0.25)
    assert len(t.segments) == 1 and t.segments[0].end == pytest.approx(1.2, abs=0.01)


@pytest.mark.parametrize("reported", ["english", "English", "en", "en-US"])
def test_detect_language_normalises_names_and_codes_and_costs_one_request(server, reported):
    server.language = reported
    stt = OpenAISTT(base_url=server.url)
    audio = speech()
    assert stt.detect_language(audio) == {"en": 1.0}
    t = stt.transcribe(audio, language="en")  # what the pipeline does next: the same audio, same language
    assert len(server.requests) == 1 and "language" not in server.requests[0]["form"]
    assert t.text == server.text and t.language == "en"
    stt.transcribe(audio, language="en")  # the kept result is used once only
    assert len(server.requests) == 2


def test_policy_choosing_another_language_asks_again(server):
    server.language = "german"
    stt = OpenAISTT(base_url=server.url)
    audio = speech()
    assert stt.detect_language(audio) == {"de": 1.0}
    t = stt.transcribe(audio, language="en")
    assert [r["form"].get("language") for r in server.requests] == [None, "en"]
    assert t.language == "en"


def test_unknown_language_from_the_server_cannot_be_detected(server):
    server.language = "klingon"
    with pytest.raises(StageError, match="does not report the spoken language"):
        OpenAISTT(base_url=server.url).detect_language(speech())


def test_falls_back_to_json_once_and_remembers(server, caplog):
    server.mode = "no_verbose"
    stt = OpenAISTT(base_url=server.url)
    t = stt.transcribe(speech(), language="de")
    assert [r["form"]["response_format"] for r in server.requests] == ["verbose_json", "json"]
    assert t.text == server.text and t.language == "de" and t.avg_logprob is None
    stt.transcribe(speech(), language="de")
    assert server.requests[-1]["form"]["response_format"] == "json"
    assert "does not offer verbose_json" in caplog.text
    with pytest.raises(StageError, match="does not report the spoken language.*json"):
        stt.detect_language(speech())


def test_no_speech_evidence_reaches_the_guard(server):
    server.no_speech_prob, server.avg_logprob, server.text = 0.93, -1.6, "Thank you."
    t = OpenAISTT(base_url=server.url).transcribe(speech(), language="en")
    assert no_speech_reason(t, SpeechGuard()) is not None
    server.mode = "silence"
    t = OpenAISTT(base_url=server.url).transcribe(speech(), language="en")
    assert t.text == "" and t.no_speech_probability == 1.0 and t.segments == ()


def test_translate_posts_to_translations_without_language(server):
    t = OpenAISTT(base_url=server.url, task="translate", language="de").transcribe(speech())
    (req,) = server.requests
    assert req["path"] == "/v1/audio/translations" and "language" not in req["form"]
    assert t.task == "translate" and t.language == "de"


def test_translate_detects_the_spoken_language_with_a_transcription(server):
    server.language = "german"  # a translation would say "english": the language it wrote
    stt = OpenAISTT(base_url=server.url, task="translate")
    audio = speech()
    assert stt.detect_language(audio) == {"de": 1.0}
    t = stt.transcribe(audio, language="de")
    assert [r["path"] for r in server.requests] == ["/v1/audio/transcriptions", "/v1/audio/translations"]
    assert t.task == "translate" and t.language == "de"


def test_too_short_audio_never_leaves_the_machine(server):
    t = OpenAISTT(base_url=server.url).transcribe(speech(0.005), language="en")
    assert t.no_speech_probability == 1.0 and server.requests == []


@pytest.mark.parametrize("mode,match", [
    ("500", r"STT server at http://127\.0\.0\.1:\d+/v1/audio/transcriptions answered HTTP 500: CUDA out of memory"),
    ("html", r"unexpected answer \(text/html\)"),
    ("garbage", r"unexpected answer \(application/json\)"),
])
def test_stt_server_failures(server, mode, match):
    server.mode = mode
    with pytest.raises(StageError, match=match) as e:
        OpenAISTT(base_url=server.url).transcribe(speech(), language="en")
    assert e.value.stage == "stt"


def test_stt_rejected_key_names_the_variable_not_the_key(server, monkeypatch):
    server.key = "sk-the-right-one"
    monkeypatch.setenv("MY_STT_KEY", KEY)
    with pytest.raises(StageError, match="rejected the API key") as e:
        OpenAISTT(base_url=server.url, api_key_env="MY_STT_KEY").transcribe(speech(), language="en")
    assert KEY not in str(e.value) and "MY_STT_KEY" in str(e.value)
    with pytest.raises(StageError, match="stt.api_key_env"):  # no key configured at all
        OpenAISTT(base_url=server.url).transcribe(speech(), language="en")


def test_stt_refused_and_timeout(server):
    with pytest.raises(StageError, match="cannot reach the STT server at .*connection refused"):
        OpenAISTT(base_url=refused_url()).transcribe(speech(), language="en")
    server.mode = "slow"
    t0 = time.monotonic()
    with pytest.raises(StageError, match="did not answer within 0.3 s") as e:
        OpenAISTT(base_url=server.url, timeout_s=0.3).transcribe(speech(), language="en")
    assert time.monotonic() - t0 < 1.5 and "stt.timeout_s" in str(e.value)


def test_stt_options():
    with pytest.raises(ValidationError, match="must start with http"):
        OpenAISTTOptions(base_url="localhost:8000/v1")
    with pytest.raises(ValidationError, match="use its code 'de'"):
        OpenAISTTOptions(language="german")
    with pytest.raises(ValidationError, match="unknown language"):
        OpenAISTTOptions(initial_prompt={"xx": "hi"})
    assert OpenAISTTOptions(base_url="http://h:1/v1/").base_url == "http://h:1/v1"


def test_unset_key_variable_fails_at_load(monkeypatch):
    monkeypatch.delenv("NOPE_KEY", raising=False)
    with pytest.raises(ConfigError, match="NOPE_KEY is not set"):
        OpenAISTT(api_key_env="NOPE_KEY").load()
    with pytest.raises(ConfigError, match="NOPE_KEY is not set"):
        OpenAITTS(api_key_env="NOPE_KEY").load()


# -- TTS ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", ["wav", "pcm", "mp3", "opus", "flac", "aac"])
def test_tts_formats(server, fmt):
    tts = OpenAITTS(base_url=server.url, response_format=fmt, voice="nova", speed=1.25,
                    instructions="Speak warmly.")
    chunks = list(tts.synthesize(SAY, "en"))
    assert server.requests[0]["json"] == {"model": "tts-1", "input": SAY, "voice": "nova", "response_format": fmt,
                                          "speed": 1.25, "instructions": "Speak warmly."}
    assert all(c.sample_rate == TTS_RATE for c in chunks)
    audio = np.concatenate([c.samples for c in chunks])
    expected = len(SAY) * SECONDS_PER_CHAR
    assert abs(len(audio) / TTS_RATE - expected) < 0.1  # encoders pad a few ms
    if fmt in ("wav", "pcm"):  # lossless, sent in pieces that split samples: exact
        assert np.array_equal(np.round(audio * 32768).astype(np.int16), speech_for(SAY))
    else:
        assert 0.18 < np.sqrt(np.mean(audio ** 2)) < 0.23  # a 0.3 sine's RMS is 0.212 (plus codec padding)


def test_tts_streams_before_the_server_is_done(server):
    server.mode = "gated"  # the server sends 0.2 s, then waits for the test to have it
    chunks = OpenAITTS(base_url=server.url).synthesize(SAY, "en")
    t0 = time.monotonic()
    first = next(chunks)
    assert time.monotonic() - t0 < 2 and first.duration >= 0.1
    server.gate.set()
    rest = list(chunks)
    total = first.duration + sum(c.duration for c in rest)
    assert total == pytest.approx(len(SAY) * SECONDS_PER_CHAR, abs=1e-3)


@pytest.mark.parametrize("mode,match", [
    ("500", r"TTS server at http://127\.0\.0\.1:\d+/v1/audio/speech answered HTTP 500: CUDA out of memory"),
    ("html", r"answered with text/html, not audio"),
    ("json200", r"answered with application/json, not audio"),
    ("empty", r"sent no audio for 41 characters \(voice 'alloy'\)"),
])
def test_tts_server_failures(server, mode, match):
    server.mode = mode
    with pytest.raises(StageError, match=match) as e:
        list(OpenAITTS(base_url=server.url).synthesize(SAY, "en"))
    assert e.value.stage == "tts"


def test_tts_empty_compressed_answer(server):
    server.mode = "empty"
    with pytest.raises(StageError, match="sent no audio"):
        list(OpenAITTS(base_url=server.url, response_format="mp3").synthesize(SAY, "en"))


def test_tts_key_refused_timeout_and_stall(server, monkeypatch):
    server.key = "sk-the-right-one"
    monkeypatch.setenv("MY_TTS_KEY", KEY)
    with pytest.raises(StageError, match="rejected the API key") as e:
        list(OpenAITTS(base_url=server.url, api_key_env="MY_TTS_KEY").synthesize(SAY, "en"))
    assert KEY not in str(e.value) and "MY_TTS_KEY" in str(e.value)
    server.key = None
    with pytest.raises(StageError, match="cannot reach the TTS server .*connection refused"):
        list(OpenAITTS(base_url=refused_url()).synthesize(SAY, "en"))
    server.mode = "slow"
    with pytest.raises(StageError, match="did not answer within 0.3 s"):
        list(OpenAITTS(base_url=server.url, timeout_s=0.3).synthesize(SAY, "en"))
    server.mode = "stall"  # sends a first piece, then nothing: the gap between pieces times out
    chunks = OpenAITTS(base_url=server.url, timeout_s=0.5).synthesize(SAY, "en")
    with pytest.raises(StageError, match="did not answer within 0.5 s"):
        list(chunks)


def test_tts_blank_text_sends_nothing(server):
    assert list(OpenAITTS(base_url=server.url).synthesize("  ", "en")) == []
    assert server.requests == []


def test_wav_stream_reads_float_stereo_and_rejects_other_formats():
    import struct

    samples = np.array([[0.5, -0.5], [0.25, 0.25]], "<f4")
    fmt = struct.pack("<HHIIHH", 3, 2, 16000, 16000 * 8, 8, 32)
    data = b"RIFF\xff\xff\xff\xffWAVE" + b"fmt " + struct.pack("<I", 16) + fmt + b"data\xff\xff\xff\xff"
    reader, got = WavStream(), []
    for i in range(0, len(data) + samples.nbytes, 5):  # header and frames split anywhere
        piece = (data + samples.tobytes())[i:i + 5]
        chunk = reader.feed(piece)
        if chunk is not None:
            got.append(chunk)
    assert got[0].sample_rate == 16000
    assert np.allclose(np.concatenate([c.samples for c in got]), [0.0, 0.25])
    bad = b"RIFF\0\0\0\0WAVEfmt " + struct.pack("<I", 16) + struct.pack("<HHIIHH", 1, 1, 8000, 8000, 1, 8)
    with pytest.raises(ValueError, match="unsupported WAV format"):
        WavStream().feed(bad)
    with pytest.raises(ValueError, match="not a WAV"):
        WavStream().feed(b"ID3\x04" + bytes(20))


def test_tts_options_and_supports():
    with pytest.raises(ValidationError):
        OpenAITTSOptions(speed=5)
    with pytest.raises(ValidationError):
        OpenAITTSOptions(response_format="ogg")
    assert OpenAITTS().supports("de") is None
    assert OpenAITTS(languages=["de", "en"]).supports("de") is True
    assert OpenAITTS(languages=["en"]).supports("de") is False


# -- the whole turn -----------------------------------------------------------------------------

def test_a_turn_with_remote_stt_and_tts(server, tmp_path):
    """Both remote stages in the real pipeline: registry, YAML, voice map, language policy."""
    config = tmp_path / "remote.yaml"
    config.write_text(
        f"stt: {{backend: openai, base_url: '{server.url}', model: whisper-1}}\n"
        f"tts:\n  voices:\n    en: {{backend: openai, base_url: '{server.url}', voice: alloy}}\n"
        f"log: {{path: '{tmp_path / 'turns.jsonl'}'}}\n")
    cfg = load_config(config)
    stt = registry.get("stt", cfg.stt.backend).create(cfg.stt)
    bot = Assistant(cfg, stt, FakeLLM(reply="Sure. Here it is."), VoiceRouter(cfg.tts), vad=LoudnessVAD())
    turn = bot.respond(speech(), output=tmp_path / "reply.wav")
    assert turn.status == "ok", turn.error
    assert turn.text == server.text and turn.language == "en" and turn.language_probability == 1.0
    assert turn.voice == "openai:tts-1/alloy"
    assert turn.reply_audio.duration == pytest.approx(len("Sure. Here it is.") * SECONDS_PER_CHAR, abs=0.05)
    paths = [r["path"] for r in server.requests]
    assert paths == ["/v1/audio/transcriptions", "/v1/audio/speech"]  # detection reused: one STT request


# -- real speech through the wire ---------------------------------------------------------------

def starter_whisper():
    from assistant.models import starter_dir

    path = starter_dir() / "whisper-base-ct2"
    if not (path / "model.bin").is_file():
        pytest.skip(f"starter Whisper model not found: {path}")
    pytest.importorskip("faster_whisper")
    from assistant.stt.faster_whisper import FasterWhisperOptions, FasterWhisperSTT

    stt = FasterWhisperSTT(FasterWhisperOptions(model=str(path), beam_size=None, compute_type="int8"))
    stt.load()
    return stt


def test_remote_whisper_gives_what_local_whisper_gives(server, clip="fleurs/fleurs-es-001.ogg", language="es"):
    """A server running real Whisper (faster-whisper, starter model) behind the fake's HTTP layer:
    stt: openai must give the same text, language and no-speech evidence as the same model locally."""
    from assistant.audio.io import load_audio
    from tests.support.shared import shared_audio

    local = starter_whisper()
    server.engine = lambda audio, lang, prompt: local.transcribe(audio, language=lang, initial_prompt=prompt)
    audio = load_audio(shared_audio(clip), 16000)
    remote = OpenAISTT(base_url=server.url, timeout_s=120)
    probs = remote.detect_language(audio)
    assert probs == {language: 1.0}
    got = remote.transcribe(audio, language=language)
    # The wire carries 16-bit samples (Whisper can change a word for 1 LSB): the local reference
    # hears exactly what the server decoded, and detects then decodes as the server did.
    heard = type(audio)(server.requests[0]["samples"].astype(np.float32) / 32768.0, 16000)
    want = local.transcribe(heard)
    assert len(server.requests) == 1
    assert got.text == want.text and got.language == want.language == language and got.text
    assert got.no_speech_probability == pytest.approx(want.no_speech_probability, abs=1e-6)
    assert got.avg_logprob == pytest.approx(want.avg_logprob, abs=1e-6)


def test_the_fake_server_answers_the_official_client(server):
    """The stand-in speaks what OpenAI's own Python client sends and expects."""
    openai = pytest.importorskip("openai")
    from assistant.audio.io import wav_bytes

    client = openai.OpenAI(base_url=server.url, api_key="sk-x", max_retries=0, timeout=10)
    r = client.audio.transcriptions.create(model="whisper-1", file=("a.wav", wav_bytes(speech()), "audio/wav"),
                                           response_format="verbose_json", language="en")
    assert r.text == server.text and r.language == "english" and r.segments[0].no_speech_prob == 0.02
    assert server.requests[-1]["form"]["response_format"] == "verbose_json"
    wav = client.audio.speech.create(model="tts-1", voice="alloy", input=SAY, response_format="wav").read()
    chunk = WavStream().feed(wav)
    assert chunk.sample_rate == TTS_RATE and len(chunk.samples) == len(speech_for(SAY))


def test_against_a_real_speech_server():
    """Both backends against a running server that really transcribes and speaks (e.g. `assistant
    serve`, vLLM, speaches): set ASSISTANT_SPEECH_SERVER=http://HOST:PORT/v1 to run it."""
    import os

    from assistant.audio.io import load_audio
    from tests.support.shared import shared_audio

    url = os.environ.get("ASSISTANT_SPEECH_SERVER")
    if not url:
        pytest.skip("set ASSISTANT_SPEECH_SERVER to the /v1 URL of a real speech server")
    audio = load_audio(shared_audio("jfk.flac"), 16000)
    stt = OpenAISTT(base_url=url, timeout_s=120)
    probs = stt.detect_language(audio)
    t = stt.transcribe(audio, language=next(iter(probs)))
    assert probs == {"en": 1.0} and "country" in t.text.lower()
    chunks = list(OpenAITTS(base_url=url, timeout_s=120).synthesize("Ask not what your country can do for you.", "en"))
    assert sum(c.duration for c in chunks) > 1.0
