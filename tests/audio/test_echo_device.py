"""Echo cancellation on a real (PulseAudio) device: the speaker is routed into the microphone with
a delay and attenuation (module-loopback), the assistant "replies" (recorded speech played through
``Speaker``), and the live capture path (``Microphone`` → canceller → Silero VAD endpointer, the
events that trigger barge-in in chat) is watched for:

- self-interruptions: speech detected while only the assistant's own reply is in the microphone;
- barge-in: a user utterance mixed into the microphone mid-reply, detected within 200 ms of its
  onset (onset located in the raw microphone stream by cross-correlation; the latency is stream
  time from onset to the VAD's confirmation).

Run the full measurement (20 replies, with and without the canceller):
``python3 -m tests.audio.test_echo_device 20``; the test runs a short version.
"""

from __future__ import annotations

import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

pytestmark = [pytest.mark.device, pytest.mark.slow]

FLEURS = Path(__file__).resolve().parents[3] / "shared" / "audio" / "fleurs"
SR = 16000
REPLY_S = 3.0
LOOP_LATENCY_MS = 60
LOOP_GAIN_DB = -6  # replies and user at the same loudness: the echo ~6 dB below the user (docs/quality.md)


@dataclass
class Result:
    replies: int = 0
    self_interruptions: int = 0
    users: int = 0
    detected: list[float | None] = field(default_factory=list)  # seconds from onset, None = missed

    @property
    def in_time(self) -> int:
        return sum(1 for d in self.detected if d is not None and d <= 0.2)


def _clips(prefixes: tuple[str, ...], seconds: float, rms_db: float = -20.0) -> list[np.ndarray]:
    """Recorded speech, leading silence cut, ``seconds`` long, at the same loudness."""
    from assistant.audio.io import load_audio

    out = []
    for prefix in prefixes:
        for path in sorted(FLEURS.glob(f"fleurs-{prefix}-*.ogg")):
            x = load_audio(path, SR).samples
            x = x[max(0, _speech_onset(x) - SR // 10):]
            if len(x) >= seconds * SR:
                x = x[: int(seconds * SR)]
                x = x * 10 ** (rms_db / 20) / max(1e-6, float(np.sqrt(np.mean(x * x))))
                out.append(np.clip(x, -1, 1).astype(np.float32))
    return out


def _speech_onset(clip: np.ndarray) -> int:
    f = 320
    env = np.sqrt(np.mean(np.square(clip[: len(clip) // f * f].reshape(-1, f)), axis=1))
    return int(np.argmax(env > 0.1 * env.max())) * f


def _attenuate(pulse, module: str, gain_db: float) -> None:
    """Set the volume of the loopback module's stream (the echo's attenuation)."""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        index = None
        for line in pulse.pactl("list", "sink-inputs").splitlines():
            line = line.strip()
            if line.startswith("Sink Input #"):
                index = line.split("#")[1]
            elif line.startswith("Owner Module:") and line.split(":")[1].strip() == module and index:
                pulse.pactl("set-sink-input-volume", index, f"{gain_db}dB")
                return
        time.sleep(0.1)
    raise RuntimeError(f"the loopback's stream (module {module}) did not appear")


class Loop:
    """Microphone → (canceller) → endpointer, in a thread, like ChatLoop.run."""

    def __init__(self, echo, capture=None) -> None:
        """``capture``: what cleans each microphone block (default: ``echo`` itself; a benchmark
        passes a recorder around it)."""
        from assistant.audio.capture import Microphone
        from assistant.audio.endpointing import Endpointer, SpeechStarted
        from assistant.audio.playback import Speaker
        from assistant.audio.settings import AudioSettings
        from assistant.audio.vad import make_vad

        a = AudioSettings()
        self.SpeechStarted = SpeechStarted
        self.endpointer = Endpointer(make_vad(a.vad), threshold=a.vad_threshold, min_silence_ms=a.min_silence_ms,
                                     min_speech_ms=a.min_speech_ms, max_utterance_s=a.max_utterance_s,
                                     pre_roll_ms=a.pre_roll_ms)
        self.echo = echo
        self.capture = capture if capture is not None else echo
        self.mic = Microphone(None)  # the canceller is applied below, so the raw stream is kept too
        self.speaker = Speaker(None, echo=echo)
        self.raw: list[np.ndarray] = []
        self.clean: list[np.ndarray] = []
        self.starts: list[float] = []  # stream seconds of confirmed speech starts
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> "Loop":
        self.speaker.start()
        self.mic.start()
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.thread.join(timeout=2)
        self.mic.close()
        self.speaker.close()

    def _run(self) -> None:
        while not self.stop.is_set():
            block = self.mic.read(timeout=0.05)
            if block is None:
                continue
            self.raw.append(block)
            clean = (self.capture.process_capture(block, self.mic.captured_until) if self.capture is not None
                     else block)
            self.clean.append(clean)
            for ev in self.endpointer.feed(clean):
                if isinstance(ev, self.SpeechStarted) and not ev.continuation:
                    self.starts.append(ev.detected_offset)

    def stream_seconds(self) -> float:
        return sum(map(len, self.raw)) / SR

    def say(self, reply: np.ndarray) -> tuple[float, float]:
        from assistant.core.types import AudioChunk

        t0 = self.stream_seconds()
        self.speaker.play(AudioChunk(reply, SR))
        self.speaker.wait_done(timeout=len(reply) / SR + 5)
        return t0, self.stream_seconds()


def measure(pulse, trials: int, cancel: bool, gate_db: float = 0.0) -> Result:
    from scipy.signal import correlate

    from assistant.audio.echo import EchoCanceller

    replies = _clips(("en", "es", "fr", "pt"), REPLY_S)
    users = _clips(("de",), 1.5)
    if not replies or not users:
        pytest.skip(f"recorded speech not found under {FLEURS}")
    mod = pulse.pactl("load-module", "module-loopback", f"source={pulse.speaker_sink}.monitor",
                      f"sink={pulse.mic_sink}", f"latency_msec={LOOP_LATENCY_MS}").strip()
    try:
        _attenuate(pulse, mod, LOOP_GAIN_DB)
        res = Result()
        echo = EchoCanceller(SR, residual_gate_db=gate_db) if cancel else None
        with Loop(echo) as loop:
            time.sleep(1.0)
            loop.say(replies[-1][: SR])  # let the canceller hear the room once (a greeting)
            time.sleep(0.8)
            for i in range(trials):  # replies alone: any detected speech is the assistant itself
                before = len(loop.starts)
                loop.say(replies[i % len(replies)])
                time.sleep(0.6)  # the echo tail
                res.replies += 1
                res.self_interruptions += int(len(loop.starts) > before)
            if cancel:
                for i in range(trials):  # a user barges in 1 s into the reply
                    reply, user = replies[(i + 3) % len(replies)], users[i % len(users)]
                    before = len(loop.starts)
                    t0 = loop.stream_seconds()
                    from assistant.core.types import AudioChunk

                    loop.speaker.play(AudioChunk(reply, SR))
                    time.sleep(1.0)
                    pulse.play_into_mic(user).wait(timeout=10)
                    loop.speaker.wait_done(timeout=REPLY_S + 5)
                    time.sleep(0.8)
                    raw = np.concatenate(loop.raw)
                    a = int(t0 * SR)
                    window = raw[a:]
                    corr = correlate(window, user, mode="valid", method="fft")
                    onset = (a + int(np.argmax(np.abs(corr))) + _speech_onset(user)) / SR
                    after = [s for s in loop.starts[before:] if s >= onset - 0.15]
                    res.users += 1
                    res.detected.append(after[0] - onset if after else None)
                    time.sleep(0.8)  # the utterance ends; next trial
        return res
    finally:
        pulse.pactl("unload-module", mod)


def test_echo_canceller_prevents_self_interruption(pulse):
    """The canceller as ``audio.echo_cancellation`` runs it (AEC3 + the near-end guard): the
    full measurement (scripts/bench_echo.py, docs/quality.md) is 0 of 20; five replies here, with
    one allowed for a machine so busy that the sound server's loopback itself glitches."""
    trials = 5
    with_aec = measure(pulse, trials, cancel=True)
    without = measure(pulse, trials, cancel=False)
    print(f"\nwithout canceller: {without.self_interruptions}/{without.replies} self-interruptions; "
          f"with: {with_aec.self_interruptions}/{with_aec.replies}, user detected in 200 ms "
          f"{with_aec.in_time}/{with_aec.users} ({with_aec.detected})")
    assert without.self_interruptions >= trials - 1, "the loopback does not reach the microphone: test is void"
    assert with_aec.self_interruptions <= 1
    heard = [d for d in with_aec.detected if d is not None and d <= 1.0]
    assert len(heard) >= trials - 1, with_aec.detected


def test_auto_turns_it_on_for_virtual_devices(pulse):
    """``audio.echo_cancellation: auto`` on a real server whose sinks say nothing of their
    hardware (null sinks): can't tell, so off (with no echo path AEC3 hid a barge-in)."""
    from assistant.audio.devices import resolve_device
    from assistant.audio.echo import echo_decision

    on, why = echo_decision(resolve_device(None, "input"), resolve_device(None, "output"))
    assert not on and "can't tell" in why, why


if __name__ == "__main__":  # python3 -m tests.audio.test_echo_device [trials]
    import tempfile

    from tests.support.pulse import start_pulse

    n = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    gate = float(sys.argv[2]) if len(sys.argv) > 2 else 0.0
    conditions = (True,) if "on-only" in sys.argv else (False, True)
    with tempfile.TemporaryDirectory() as d:
        env, why = start_pulse(d)
        if env is None:
            sys.exit(f"no PulseAudio: {why}")
        env.activate()
        try:
            for cancel in conditions:
                r = measure(env, n, cancel, gate)
                lat = [round(x * 1000) for x in r.detected if x is not None]
                print(f"canceller {'on ' if cancel else 'off'}: self-interruptions {r.self_interruptions}/{r.replies}"
                      + (f"; user barge-in detected within 200 ms {r.in_time}/{r.users}, latencies ms {lat}"
                         if cancel else ""), flush=True)
        finally:
            env.stop()
