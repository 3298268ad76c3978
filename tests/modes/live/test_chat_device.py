"""`assistant chat` through real audio devices: a headless PulseAudio with a virtual microphone
(fed recorded speech) and a virtual speaker (whose monitor we record). Tiny local models."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.device

FLEURS = Path(__file__).resolve().parents[4] / "shared" / "audio" / "fleurs"
CLIP_A, CLIP_B = FLEURS / "fleurs-en-004.ogg", FLEURS / "fleurs-en-003.ogg"  # one utterance each


@pytest.fixture(scope="module")
def chat_config(tmp_path_factory, tiny_whisper_path, tiny_llm_path):
    if not CLIP_A.exists():
        pytest.skip("../shared/audio is not present")
    d = tmp_path_factory.mktemp("chat")
    p = d / "chat.yaml"
    p.write_text(f"""
stt: {{backend: whisper, model: {tiny_whisper_path}, sample_len: 8, beam_size: null}}
llm: {{backend: transformers, model: {tiny_llm_path}, max_new_tokens: 120, temperature: 0}}
tts: {{voices: {{}}, fallback: {{backend: espeak, rate: 150}}}}
guard: {{no_speech_threshold: 1.0}}
language: {{check_reply: false, min_probability: 0.0, languages: [en]}}
audio: {{cues: false}}
log: {{path: {d / 'turns.jsonl'}}}
""")
    return p


class Chat:
    """`assistant chat` in a subprocess, as a user starts it."""

    def __init__(self, config: Path, env: dict[str, str], duration: int = 90) -> None:
        self.log = config.parent / "turns.jsonl"
        self.log.unlink(missing_ok=True)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "assistant", "chat", "-c", str(config), "--no-greeting",
             "--duration", str(duration)],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.out: list[str] = []
        self.ready = threading.Event()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout
        for line in self.proc.stdout:
            self.out.append(line)
            if "listening on" in line:
                self.ready.set()

    def records(self) -> list[dict]:
        if not self.log.exists():
            return []
        return [json.loads(x) for x in self.log.read_text().splitlines() if x.strip()]

    def wait_records(self, n: int, timeout: float = 60) -> list[dict]:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            recs = [r for r in self.records() if r["status"] != "no_speech"]
            if len(recs) >= n:
                return recs
            time.sleep(0.1)
        raise AssertionError(f"no {n} turn(s) logged; output:\n{''.join(self.out)}")

    def interrupt(self) -> tuple[float, str]:
        t0 = time.monotonic()
        self.proc.send_signal(signal.SIGINT)
        self.proc.wait(timeout=10)
        return time.monotonic() - t0, self.proc.stderr.read() if self.proc.stderr else ""


def envelope(audio: np.ndarray, rate: int, window: float = 0.05) -> np.ndarray:
    n = int(rate * window)
    frames = audio[: len(audio) // n * n].reshape(-1, n)
    return np.sqrt((frames ** 2).mean(axis=1))


def audible(env: np.ndarray, start: float, end: float, window: float = 0.05, floor: float = 0.01) -> float:
    """Share of the windows in [start, end) seconds that carry sound."""
    a, b = int(start / window), int(end / window)
    part = env[max(a, 0):max(b, 0)]
    return float((part > floor).mean()) if len(part) else 0.0


def peek(rec) -> np.ndarray:
    """What the speaker recording holds so far (it keeps running)."""
    raw = b"".join(list(rec._chunks))
    return np.frombuffer(raw[: len(raw) // 4 * 4], dtype="<f4")


def clip_seconds(path: Path) -> float:
    from assistant.audio.io import load_audio

    return load_audio(path, 16000).duration


def test_chat_answers_a_spoken_question(pulse, chat_config):
    chat = Chat(chat_config, pulse.subprocess_env())
    assert chat.ready.wait(120), "".join(chat.out)
    rec = pulse.start_recording_speaker()
    t0 = time.monotonic()
    time.sleep(0.5)
    t_play = time.monotonic() - t0
    pulse.play_into_mic(CLIP_A).wait(timeout=30)
    t_end = t_play + clip_seconds(CLIP_A)
    turn = chat.wait_records(1)[0]
    time.sleep(1.0)
    stop_s, stderr = chat.interrupt()
    audio = rec.stop()
    env = envelope(audio, pulse.rate)
    assert audible(env, 0, t_end) < 0.05, "the assistant spoke before the question ended"
    assert audible(env, t_end, len(audio) / pulse.rate) > 0.1, "no reply was heard on the speaker"
    assert turn["status"] == "ok" and turn["input"] == "microphone" and turn["reply"]
    assert turn["voice"].startswith("espeak") and turn["timings_ms"]["first_audio"] > 0
    assert chat.proc.returncode == 0 and "Traceback" not in stderr
    assert stop_s < 1.5  # Ctrl-C: devices closed and the process gone in ~0.7 s here; margin for a busy CI


def test_speaking_over_the_reply_stops_it(pulse, chat_config):
    chat = Chat(chat_config, pulse.subprocess_env())
    assert chat.ready.wait(120), "".join(chat.out)
    rec = pulse.start_recording_speaker()
    t0 = time.monotonic()
    time.sleep(0.3)
    pulse.play_into_mic(CLIP_A).wait(timeout=30)
    # wait until the reply is audibly playing, then talk over it
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        time.sleep(0.1)
        probe = envelope(peek(rec), pulse.rate)
        if len(probe) > 10 and (probe[-10:] > 0.01).mean() > 0.3:
            break
    else:
        pytest.fail("the reply never started playing")
    time.sleep(0.5)
    t_b = time.monotonic() - t0
    pulse.play_into_mic(CLIP_B).wait(timeout=30)
    chat.wait_records(2)
    time.sleep(0.5)
    chat.interrupt()
    audio = rec.stop()
    env = envelope(audio, pulse.rate)
    assert audible(env, t_b - 0.5, t_b) > 0.3, "the first reply was not playing when the user spoke"
    # playback must stop soon after the user starts: silence while they go on talking
    assert audible(env, t_b + 0.4, t_b + clip_seconds(CLIP_B) - 0.2) < 0.1, "playback went on over the user"
    first = chat.records()[0]
    assert first["interrupted"] is True and first["timings_ms"]["barge_in"] < 300


def test_unknown_microphone_names_the_available_ones(pulse, chat_config):
    proc = subprocess.run([sys.executable, "-m", "assistant", "chat", "-c", str(chat_config),
                           "--set", "audio.input_device=nosuchmic"], env=pulse.subprocess_env(),
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 6 and "Traceback" not in proc.stderr
    assert "nosuchmic" in proc.stderr and "audio.input_device" in proc.stderr and "vmic" in proc.stderr


def test_no_sound_server_gives_one_clear_line(chat_config, tmp_path):
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith("PULSE")}
    env.update(PULSE_SERVER=f"unix:{tmp_path}/no-such-socket", XDG_RUNTIME_DIR=str(tmp_path))
    proc = subprocess.run([sys.executable, "-m", "assistant", "chat", "-c", str(chat_config)], env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 6, proc.stderr
    assert "Traceback" not in proc.stderr and proc.stderr.startswith("error:")


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_chat_stops_within_a_second_during_a_turn_with_the_machine_busy(pulse, chat_config, tmp_path, sig):
    """Ctrl-C / SIGTERM while the turn waits in a stage that can't be interrupted (here an LLM
    server that never answers): the turn is logged as interrupted and the process ends within a
    second of what a bare Python process needs for the same signal on the same busy machine."""
    from tests.cli.test_stop_under_load import bare_python_stop, busy_cores
    from tests.support.fault_server import FaultServer

    server = FaultServer("never", hold_s=60)
    config = tmp_path / "chat.yaml"
    config.write_text(chat_config.read_text().replace(
        next(line for line in chat_config.read_text().splitlines() if line.startswith("llm:")),
        f"llm: {{backend: openai, base_url: {server.url}, model: x, timeout_s: 60}}").replace(
        str(chat_config.parent / "turns.jsonl"), str(tmp_path / "turns.jsonl")))
    chat = Chat(config, pulse.subprocess_env())
    try:
        assert chat.ready.wait(120), "".join(chat.out)
        pulse.play_into_mic(CLIP_A).wait(timeout=30)
        end = time.monotonic() + 60
        while not server.requests and time.monotonic() < end and chat.proc.poll() is None:
            time.sleep(0.05)
        assert server.requests, "".join(chat.out)
        with busy_cores():
            bare = bare_python_stop(sig)
            t0 = time.monotonic()
            chat.proc.send_signal(sig)
            chat.proc.wait(timeout=30)
            took = time.monotonic() - t0
        print(f"chat stopped in {took:.2f} s; a bare Python process in {bare:.2f} s")
        stderr = chat.proc.stderr.read() if chat.proc.stderr else ""
        assert "Traceback" not in stderr, stderr
        assert took < 1.0 + bare, f"stopped after {took:.2f} s (a bare process: {bare:.2f} s)"
        records = [r for r in chat.records() if r["status"] != "no_speech"]
        assert [r["status"] for r in records] == ["interrupted"]
    finally:
        if chat.proc.poll() is None:
            chat.proc.kill()
        server.close()
