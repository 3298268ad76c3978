"""The single-stage paths (``assistant transcribe`` / ``say``, ``POST /v1/audio/transcriptions`` /
``speech``) go through the engine's ``Stages``: the model's own lock, the same language rule, the
same speakable text, one subtitle writer."""

from __future__ import annotations

import threading
import time

import pytest

from assistant.audio.io import save_audio
from assistant.cli import main
from assistant.config import load_config
from assistant.core.types import Segment, Transcript, Utterance
from assistant.engine import ReplySink
from assistant.modes.file import Assistant
from assistant.text.speakable import speakable
from assistant.text.subtitles import subtitles
from assistant.tts.voices import VoiceRouter
from tests.support.fakes import FakeLLM, FakeSTT, FakeTTS, tone

testclient = pytest.importorskip("fastapi.testclient")


class OverlapSTT(FakeSTT):
    """Records how many calls run at once (each call takes a while, so overlaps show)."""

    def __init__(self) -> None:
        super().__init__()
        self.guard = threading.Lock()
        self.active = 0
        self.most = 0

    def _enter(self) -> None:
        with self.guard:
            self.active += 1
            self.most = max(self.most, self.active)
        time.sleep(0.03)
        with self.guard:
            self.active -= 1

    def detect_language(self, audio):
        self._enter()
        return super().detect_language(audio)

    def transcribe(self, audio, *, language=None, initial_prompt=None):
        self._enter()
        return super().transcribe(audio, language=language, initial_prompt=initial_prompt)


def fake_bot(tmp_path, stt=None, tts=None) -> Assistant:
    cfg = load_config(None, [f"log.path={tmp_path / 'turns.jsonl'}", "language.check_reply=false",
                             "tts={voices: {}, fallback: {backend: espeak}}"])
    router = VoiceRouter(cfg.tts, factory=lambda o: tts) if tts is not None else VoiceRouter(cfg.tts)
    return Assistant(cfg, stt or FakeSTT(), FakeLLM(reply="Fine. Thanks."), router)


def client(bot):
    from assistant.modes.server.app import create_app

    return testclient.TestClient(create_app(bot), base_url="http://127.0.0.1")


def wav_bytes(tmp_path) -> bytes:
    return save_audio(tone(1.0), tmp_path / "clip.wav").read_bytes()


def test_a_rest_transcription_and_a_realtime_turn_never_run_one_model_at_once(tmp_path):
    stt = OverlapSTT()
    bot = fake_bot(tmp_path, stt=stt, tts=FakeTTS())
    data = wav_bytes(tmp_path)
    failures: list[str] = []

    def turns() -> None:  # what a realtime session runs: the engine over the bot's shared stages
        session = bot.engine.new_session()
        for _ in range(4):
            turn = bot.engine.run(session, Utterance(tone(), source="test", speech_ratio=0.9),
                                  ReplySink())
            if turn.status != "ok":
                failures.append(f"turn {turn.status}: {turn.error}")

    def uploads(language: str | None) -> None:
        with client(bot) as c:
            for _ in range(4):
                form = {"language": language} if language else {}
                r = c.post("/v1/audio/transcriptions", files={"file": ("clip.wav", data, "audio/wav")}, data=form)
                if r.status_code != 200 or r.json()["text"] != "hello there":
                    failures.append(f"upload {r.status_code}: {r.text}")

    threads = [threading.Thread(target=turns), threading.Thread(target=uploads, args=("en",)),
               threading.Thread(target=uploads, args=(None,))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not failures
    calls = [kind for kind, _ in stt.calls]
    assert calls.count("transcribe") == 12  # 4 turns, 8 uploads: all of them ran
    assert stt.most == 1  # ... and never two at once on the one model


def test_a_request_language_is_used_as_given_and_auto_detects(tmp_path):
    stt = FakeSTT(probs={"de": 0.9, "en": 0.1})
    bot = fake_bot(tmp_path, stt=stt, tts=FakeTTS())
    data = wav_bytes(tmp_path)
    with client(bot) as c:
        given = c.post("/v1/audio/transcriptions", files={"file": ("a.wav", data)}, data={"language": "fr"}).json()
        detected = c.post("/v1/audio/transcriptions", files={"file": ("a.wav", data)}).json()
    assert given["language"] == "fr" and detected["language"] == "de"
    assert stt.calls == [("transcribe", "fr"), ("detect", 1.0), ("transcribe", "de")]


def test_say_and_the_speech_endpoint_give_the_voice_the_same_text(tmp_path, monkeypatch):
    seen: list[tuple[str, str]] = []
    synthesize = VoiceRouter.synthesize

    def recording(self, text, language):
        seen.append((text, language))
        return synthesize(self, text, language)

    monkeypatch.setattr(VoiceRouter, "synthesize", recording)
    text = "It costs 5 € at 3:00."
    cfg = ["--set", f"log.path={tmp_path / 'turns.jsonl'}", "--set", "tts={voices: {}, fallback: {backend: espeak}}"]
    assert main(["say", text, "-o", str(tmp_path / "say.wav"), *cfg]) == 0
    with client(fake_bot(tmp_path)) as c:
        r = c.post("/v1/audio/speech", json={"input": text, "voice": "en", "response_format": "wav"})
    assert r.status_code == 200 and r.content[:4] == b"RIFF"
    assert seen == [(speakable(text, "en"), "en")] * 2
    assert seen[0][0] != text  # the speakable hook ran ("five euros")


def test_text_with_nothing_to_speak_is_refused_by_both(tmp_path, capsys):
    cfg = ["--set", f"log.path={tmp_path / 'turns.jsonl'}", "--set", "tts={voices: {}, fallback: {backend: espeak}}"]
    out = tmp_path / "emoji.wav"
    assert main(["say", "😀", "-o", str(out), *cfg]) != 0
    assert "nothing to say" in capsys.readouterr().err and not out.exists()
    with client(fake_bot(tmp_path)) as c:
        r = c.post("/v1/audio/speech", json={"input": "😀", "voice": "en"})
    assert r.status_code == 400 and "no words" in r.json()["error"]["message"]


def test_subtitles_are_written_once_for_cli_and_rest(tmp_path):
    from assistant.cli.files import format_transcript

    t = Transcript("one two", "en", 0.9, segments=(Segment(0.0, 0.9996, " one"), Segment(3661.5, 3662.25, "two ")))
    assert subtitles(t, "srt") == ("1\n00:00:00,000 --> 00:00:01,000\none\n\n"
                                   "2\n01:01:01,500 --> 01:01:02,250\ntwo\n")
    assert subtitles(t, "vtt") == ("WEBVTT\n\n00:00:00.000 --> 00:00:01.000\none\n\n"
                                   "01:01:01.500 --> 01:01:02.250\ntwo\n")
    assert format_transcript(t, "srt") == subtitles(t, "srt")
    stt = FakeSTT(text="hello there")
    with client(fake_bot(tmp_path, stt=stt, tts=FakeTTS())) as c:
        r = c.post("/v1/audio/transcriptions", files={"file": ("a.wav", wav_bytes(tmp_path))},
                   data={"response_format": "vtt"})
    assert r.status_code == 200 and r.text == "WEBVTT\n\n00:00:00.000 --> 00:00:01.000\nhello there\n"
