"""Voice commands end to end in the live loop over PulseAudio: spoken commands (synthesized with
the starter Piper voice) played into the virtual microphone, the real `assistant chat` with the starter Whisper
(faster-whisper, base), and the effects read from the turn log: each command recognised and
confirmed without the LLM, "stop" said over a reply both barges in and is the command, patient
mode lengthens the end-of-turn wait, pause ignores everything but the wake phrase."""

from __future__ import annotations

import shutil
import time

import numpy as np
import pytest

from assistant.models import starter_dir
from tests.modes.live.test_chat_device import Chat, envelope, peek

pytestmark = [pytest.mark.device, pytest.mark.slow]

WHISPER = starter_dir() / "whisper-base-ct2"


@pytest.fixture(scope="module")
def config(tmp_path_factory, tiny_llm_path):
    if not (WHISPER / "model.bin").exists():
        pytest.skip(f"the starter Whisper is not installed ({WHISPER}); run `assistant models install starter`")
    if not JOE.is_file() or shutil.which("espeak-ng") is None:
        pytest.skip(f"the starter Piper voice ({JOE}) or espeak-ng (its phonemizer) is not installed")
    d = tmp_path_factory.mktemp("commands")
    p = d / "chat.yaml"
    p.write_text(f"""
stt: {{backend: faster-whisper, model: {WHISPER}}}
llm: {{backend: transformers, model: {tiny_llm_path}, max_new_tokens: 16, temperature: 0}}
tts: {{voices: {{}}, fallback: {{backend: espeak, rate: 170}}}}
language: {{check_reply: false, min_probability: 0.0, languages: [en]}}
audio: {{cues: false}}
commands: {{earcon: false, still_thinking_s: 0}}
log: {{path: {d / 'turns.jsonl'}}}
""")
    return p


JOE = starter_dir() / "piper" / "en_US-joe-medium.onnx"
_voice = None


def spoken(text: str, path) -> str:
    """The command as speech: the starter Piper voice (Whisper base mishears espeak-ng's)."""
    global _voice
    from assistant.audio.io import save_audio
    from assistant.core.types import AudioChunk
    from assistant.tts.piper import PiperOptions, PiperTTS

    if _voice is None:
        _voice = PiperTTS(PiperOptions(backend="piper", model=str(JOE)))
        _voice.load()
    speech = AudioChunk.concat(list(_voice.synthesize(text, "en")))
    pad = AudioChunk(np.zeros(int(0.4 * speech.sample_rate), np.float32), speech.sample_rate)
    return str(save_audio(AudioChunk.concat([pad, speech, pad]), path))


def misheard(record: dict) -> bool:
    """An answered turn whose transcript is not a command: Whisper heard other words."""
    from assistant.commands import parse

    return record["status"] == "ok" and parse(record["transcript"] or "", "en") is None


def test_each_command_in_the_live_loop(pulse, config, tmp_path):
    chat = Chat(config, pulse.subprocess_env(), duration=400)
    try:
        assert chat.ready.wait(120), "".join(chat.out)
        done = 0

        def say(text: str, settle: float = 1.0, tries: int = 2) -> dict:
            """Play the command; if Whisper mishears it as something that is not a command (e.g.
            "Please speed more slowly."), say it once more: recognition is Whisper's, the test is
            about what happens to a command that was heard."""
            nonlocal done
            for _ in range(tries):
                pulse.play_into_mic(spoken(text, tmp_path / f"{done}.wav")).wait(timeout=30)
                done += 1
                record = chat.wait_records(done, timeout=60)[done - 1]
                time.sleep(settle)  # let the confirmation play out
                print(text, "->", record["status"], record["command"], repr(record["transcript"]))
                if not misheard(record):
                    break
            return record

        assert say("Speak more slowly, please.")["command"] == "slower"
        assert say("Speak louder, please.")["command"] == "louder"
        assert say("Please repeat that.")["command"] == "repeat"
        # "help" is a long spoken list: say "stop" over it once it is audibly playing
        rec = pulse.start_recording_speaker()
        pulse.play_into_mic(spoken("What can I say?", tmp_path / "help.wav")).wait(timeout=30)
        done += 1
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            time.sleep(0.1)
            probe = envelope(peek(rec), pulse.rate)
            if len(probe) > 10 and (probe[-10:] > 0.01).mean() > 0.3:
                break
        else:
            pytest.fail("the help list never started playing")
        rec.stop()
        time.sleep(0.5)
        stop = say("Stop.")
        recs = [r for r in chat.records() if r["status"] != "no_speech"]
        help_turn = next(r for r in recs if r["command"] == "help")
        assert help_turn["command"] == "help" and help_turn["interrupted"] is True
        assert stop["status"] == "command" and stop["command"] == "stop" and stop["reply"] == "Okay."
        assert say("Pause listening.", settle=3.0)["command"] == "pause"
        ignored = say("Tell me a joke.")
        assert ignored["status"] == "ignored" and ignored["reply"] == ""
        assert say("I'm back.")["command"] == "resume"
        assert say("Take your time.")["command"] == "patient"
        patient = say("Start a new conversation.")
        assert patient["command"] == "new_conversation"
        assert patient["timings_ms"]["endpointing"] >= 1700  # the longer end-of-turn wait
        assert say("Normal speed.")["command"] == "normal"
        fast = say("Forget that.")
        assert fast["command"] == "forget_last" and fast["timings_ms"]["endpointing"] < 1500
        recs = [r for r in chat.records() if r["status"] != "no_speech"]
        # the LLM answered nothing that was heard as a command (only Whisper's mishearings reach it)
        assert all(r["status"] in ("command", "ignored") or misheard(r) for r in recs)
    finally:
        if chat.proc.poll() is None:
            chat.interrupt()
