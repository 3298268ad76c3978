"""Acoustic echo cancellation: WebRTC's audio processing module (AEC3, noise suppression,
high-pass filter, gain control) so the assistant does not hear itself through laptop speakers.

The module comes from the ``livekit`` wheel (Apache-2.0, manylinux/macOS/Windows wheels, a
maintained build of current libwebrtc): ``livekit.rtc.AudioProcessingModule``. The older
``webrtc-audio-processing`` (0.1.3) and ``aec-audio-processing`` packages ship only source
archives that need SWIG and a C++ toolchain, and wrap a 2018-era AEC.

How the live path uses it (both sides at the same rate, 16 kHz here):

- ``process_render(samples)``: everything the speaker plays, silence included, as it is handed
  to the device (the reference signal; the "reverse stream" in WebRTC's words);
- ``process_capture(samples)``: every microphone block, before VAD/endpointing; returns the
  cleaned audio.

Both take float32 mono blocks of any length and cut them into the 10 ms frames WebRTC needs;
``process_capture`` returns what is complete so far (at most 10 ms is held back, and handed out
with the next block). The two sides may be called from different threads.

``push_render(samples, rate)`` is the variant for an audio callback (``Speaker`` calls it): it
only queues a copy at the device's rate; the next ``process_capture`` resamples and feeds it
first, so no WebRTC work runs on PortAudio's thread. ``Microphone(echo=...)`` and
``Speaker(echo=...)`` take the same object.
"""

from __future__ import annotations

import collections
import json
import re
import threading

import numpy as np

from assistant.core.errors import MissingDependencyError

RATES = (8000, 16000, 32000, 48000)  # the rates WebRTC's module processes natively
RENDER_LEAD_S = 0.05  # the render goes in this far ahead of its timestamp (AEC3 needs it first)
MAX_HELD_S = 1.0  # held render beyond this means the clocks disagree: feed it anyway


def _rtc():
    try:
        from livekit import rtc
    except ImportError:
        raise MissingDependencyError(
            "echo cancellation needs the package 'livekit' (WebRTC's audio processing module)",
            "pip install 'livekit>=1.2', or set audio.echo_cancellation: false") from None
    return rtc


def _to_int16(x: np.ndarray) -> np.ndarray:
    return (np.clip(x, -1.0, 1.0) * 32767.0).round().astype(np.int16)


class _Framer:
    """Collects float samples and yields whole 10 ms frames."""

    def __init__(self, frame: int) -> None:
        self.frame = frame
        self._rest = np.zeros(0, np.float32)

    def frames(self, samples: np.ndarray) -> list[np.ndarray]:
        x = np.concatenate([self._rest, np.asarray(samples, np.float32).reshape(-1)])
        n = len(x) // self.frame
        self._rest = x[n * self.frame:]
        return [x[i * self.frame:(i + 1) * self.frame] for i in range(n)]

    def reset(self) -> None:
        self._rest = np.zeros(0, np.float32)


class EchoGuard:
    """A near-end (double-talk) detector on 10 ms frame energies: is anyone but the speaker in the
    microphone? Where not, the canceller's output is muted, so the residue AEC3 leaves of the
    assistant's own voice never reaches the voice detector (Silero ignores loudness: a residue
    30 dB down is still speech to it).

    The decision compares the *raw* microphone with the echo predicted from what was played — not
    with AEC3's output, which also suppresses a user who talks over the echo (the residual gate
    measured that: barge-in then came late). The prediction needs two things the guard measures
    itself, as the speaker plays:

    - the lag from a render frame to its echo in the microphone: the peak of the correlation of
      log-energy envelopes (render vs raw microphone, the last 2 s, lags 0-600 ms), re-checked
      every 100 ms and kept only when the peak is clear;
    - the echo's gain: the median ratio of microphone to lag-aligned render energy over frames
      where nobody else spoke.

    Predicted echo = gain × the loudest render frame within ``spread_ms`` of the lag (the lag
    jitters by 10-30 ms between replies on PulseAudio), held with a decay (``tail_db`` per 10 ms)
    for the room's reverberation. The microphone holds a near-end talker when it is ``margin_db``
    louder than that for ``confirm_ms`` in a row; the gate then stays open ``hangover_ms``. Before
    the lag and gain are known, every lag up to 600 ms counts and the gain is taken as 1 (0 dB).
    Without an echo (headphones) the gain comes out near zero and nothing is muted.

    Chosen by replaying recorded loopback runs (scripts/bench_echo.py --dump) through the
    canceller: ±20 ms and one frame let 1 of 20 replies through (its echo came 20 ms early);
    ±40 ms cost barge-in (13/20 within 200 ms against 16/20 at ±30 ms).
    """

    KEPT = 512  # render frame energies remembered (5 s)
    MAX_LAG = 60  # frames (600 ms)
    WINDOW = 200  # capture frames the lag and gain are measured over (2 s)
    EVERY = 10  # re-estimate every this many capture frames (100 ms)
    ACTIVE = 1e-6  # -60 dBFS: a render frame louder than this makes echo
    SILENT = 1e-8  # -80 dBFS: predicted echo below this is nothing to guard against

    def __init__(self, margin_db: float = 6.0, hangover_ms: int = 200, tail_db: float = 2.0,
                 spread_ms: int = 30, confirm_ms: int = 20) -> None:
        self.margin = 10 ** (margin_db / 10)
        self.spread = max(0, spread_ms // 10)
        self.confirm = max(1, confirm_ms // 10)
        self._over = 0  # consecutive frames above the predicted echo
        self.hangover = max(1, hangover_ms // 10)
        self.tail = 10 ** (-tail_db / 10)
        self._render = np.zeros(self.KEPT)
        self.render_frames = 0
        self._raw = np.zeros(self.WINDOW)  # ring of capture energies, the render count at each, near-end flags
        self._at = np.zeros(self.WINDOW, np.int64)
        self._near_flags = np.zeros(self.WINDOW, bool)
        self.capture_frames = 0
        self.lag: int | None = None  # frames
        self.lag_quality = 0.0  # the correlation at the chosen lag
        self.gain: float | None = None  # echo energy / render energy
        self._predicted = 0.0
        self._open = 0  # frames the gate stays open
        self.muted_frames = 0
        self._last_active = -10 ** 9  # render count after the last frame loud enough to echo

    @property
    def lag_ms(self) -> int | None:
        return None if self.lag is None else self.lag * 10

    def render(self, energy: float) -> None:
        self._render[self.render_frames % self.KEPT] = energy
        self.render_frames += 1
        if energy > self.ACTIVE:
            self._last_active = self.render_frames

    def _played(self, at: int, lags: np.ndarray) -> np.ndarray:
        """Render energies of the frames ``lags`` before the last one fed at render count ``at``."""
        idx = at - 1 - lags
        ok = (idx >= 0) & (idx > self.render_frames - self.KEPT)
        return np.where(ok, self._render[np.maximum(idx, 0) % self.KEPT], 0.0)

    def predicted_echo(self) -> float:
        return self._predicted

    def capture(self, energy: float) -> bool:
        """One raw microphone frame's energy; True when it may hold a near-end talker (keep it)."""
        at = self.render_frames
        if self.lag is None:
            lags = np.arange(self.MAX_LAG + 1)
        else:
            lags = np.arange(max(0, self.lag - self.spread), self.lag + self.spread + 1)
        gain = self.gain if self.gain is not None else 1.0
        self._predicted = max(gain * float(np.max(self._played(at, lags))), self._predicted * self.tail)
        near = energy > self.margin * self._predicted
        self._over = self._over + 1 if near else 0
        if self._over >= self.confirm:
            self._open = self.hangover
        keep = self._open > 0 or self._predicted < self.SILENT
        self._open = max(0, self._open - 1)
        i = self.capture_frames % self.WINDOW
        self._raw[i], self._at[i], self._near_flags[i] = energy, at, near and self._predicted >= self.SILENT
        self.capture_frames += 1
        if self.capture_frames % self.EVERY == 0:
            self._estimate()
        if not keep:
            self.muted_frames += 1
        return keep

    def _estimate(self) -> None:
        if self.render_frames - self._last_active > self.WINDOW + self.MAX_LAG:
            return  # nothing was played in the window (most of the time: cheap)
        n = min(self.capture_frames, self.WINDOW)
        order = (np.arange(self.capture_frames - n, self.capture_frames)) % self.WINDOW
        raw, at, near = self._raw[order], self._at[order], self._near_flags[order]
        lags = np.arange(self.MAX_LAG + 1)
        played = self._played(at[:, None], lags[None, :])  # frames × lags
        if np.sum(played.max(axis=1) > self.ACTIVE) < 30:
            return  # too little was played (300 ms) to measure anything
        x = np.log10(raw + 1e-9)
        y = np.log10(played + 1e-9)
        xc = x - x.mean()
        yc = y - y.mean(axis=0)
        den = np.sqrt(np.sum(xc * xc) * np.sum(yc * yc, axis=0)) + 1e-12
        corr = (xc @ yc) / den
        best = int(np.argmax(corr))
        if corr[best] >= 0.5:
            self.lag, self.lag_quality = best, float(corr[best])
        # the gain of what the prediction uses: the aligned frame, or (lag unknown: no clear echo,
        # e.g. headphones) the loudest of all lags, so that no echo makes a gain near zero
        aligned = played[:, self.lag] if self.lag is not None else played.max(axis=1)
        use = (aligned > self.ACTIVE) & ~near
        if use.sum() >= 20:
            gain = float(10 ** np.median(np.log10((raw[use] + 1e-12) / aligned[use])))
            # up at once, down by at most 1 dB per estimate: a gain too low lets the echo through
            self.gain = gain if self.gain is None else max(gain, self.gain * 10 ** -0.1)

    def reset(self) -> None:
        self._open = 0


class EchoCanceller:
    """WebRTC audio processing for one microphone and the speaker it hears.

    ``delay_ms``: a first estimate of the time from handing audio to the speaker to hearing it in
    the microphone (AEC3 finds the real delay itself; this only speeds up convergence).
    ``residual_gate_db``: silence a frame when the canceller took out more than this much of it
    (what is left is the echo's residue: quiet, but still speech to a voice detector, which
    ignores loudness). 0 (default) disables it: measured on PulseAudio, 12 dB cut
    self-interruptions a little (2/20 against about 3/10) but delayed barge-in past 200 ms in
    12 of 20 trials, because double-talk onsets are gated too.
    """

    def __init__(self, sample_rate: int = 16000, *, echo_cancellation: bool = True,
                 noise_suppression: bool = True, high_pass_filter: bool = True,
                 auto_gain_control: bool = False, delay_ms: int = 0, residual_gate_db: float = 0.0,
                 guard: bool = True) -> None:
        if sample_rate not in RATES:
            raise ValueError(f"echo cancellation runs at {', '.join(map(str, RATES))} Hz, not {sample_rate}")
        rtc = _rtc()
        self._rtc = rtc
        self.sample_rate = sample_rate
        self.frame = sample_rate // 100
        self.echo_cancellation = echo_cancellation
        self._apm = rtc.AudioProcessingModule(
            echo_cancellation=echo_cancellation, noise_suppression=noise_suppression,
            high_pass_filter=high_pass_filter, auto_gain_control=auto_gain_control)
        self._lock = threading.Lock()  # the FFI handle is shared by the two threads
        self._render = _Framer(self.frame)
        self._capture = _Framer(self.frame)
        self.delay_ms = int(delay_ms)
        if echo_cancellation:
            self._apm.set_stream_delay_ms(self.delay_ms)
        self.render_frames = 0
        self.capture_frames = 0
        self.gated_frames = 0
        self.residual_gate_db = float(residual_gate_db)
        self._raw_energy = 0.0  # smoothed (about 30 ms) energies of the input and the output
        self._out_energy = 0.0
        self.guard = EchoGuard() if guard and echo_cancellation else None
        self._pushed: collections.deque[tuple[np.ndarray, int, float | None]] = collections.deque()
        self._resamplers: dict[int, object] = {}

    def _frame(self, samples: np.ndarray):
        pcm = _to_int16(samples)
        return self._rtc.AudioFrame(bytearray(pcm.tobytes()), self.sample_rate, 1, self.frame)

    def process_render(self, samples: np.ndarray) -> None:
        """Feed what the speaker plays (float32 mono at ``sample_rate``), as it is played."""
        for f in self._render.frames(samples):
            frame = self._frame(f)
            with self._lock:
                self._apm.process_reverse_stream(frame)
                if self.guard is not None:
                    self.guard.render(float(np.mean(f * f)))
            self.render_frames += 1

    def push_render(self, samples: np.ndarray, sample_rate: int, heard_at: float | None = None) -> None:
        """From an output callback: queue what is being played (float32 mono, any rate).
        ``heard_at``: the ``time.monotonic()`` at which its first sample leaves the speaker."""
        self._pushed.append((np.array(samples, np.float32, copy=True).reshape(-1), int(sample_rate), heard_at))

    def _feed_pushed(self, captured_until: float | None = None) -> None:
        """What was played goes in before the capture that may hold its echo. With timestamps on
        both sides (``heard_at``, ``captured_until``) only what was heard by the end of this
        capture block (plus ``RENDER_LEAD_S``) goes in, the rest waits: the lag the canceller
        sees is then the acoustic one, whatever the delay in reading the microphone. Without them,
        everything played so far goes in, and the lag also holds however long microphone blocks
        waited to be read — on a busy machine it changes from block to block, and AEC3 has to
        find the echo again (one measured cause of self-interruptions: docs/quality.md)."""
        from assistant.audio.capture import StreamResampler

        while self._pushed:
            samples, rate, heard = self._pushed[0]
            if captured_until is not None and heard is not None and heard > captured_until + RENDER_LEAD_S:
                last = self._pushed[-1][2]  # (the output callback appends meanwhile: index, never iterate)
                if last is not None and last - heard < MAX_HELD_S:
                    return
            self._pushed.popleft()
            res = self._resamplers.get(rate)
            if res is None:
                res = self._resamplers[rate] = StreamResampler(rate, self.sample_rate)
            self.process_render(res.process(samples))

    def process_capture(self, samples: np.ndarray, captured_until: float | None = None) -> np.ndarray:
        """Clean a microphone block (float32 mono at ``sample_rate``): echo, noise and hum removed.
        ``captured_until``: the ``time.monotonic()`` at which its last sample was captured."""
        self._feed_pushed(captured_until)
        out = []
        for f in self._capture.frames(samples):
            frame = self._frame(f)
            with self._lock:
                if self.echo_cancellation:
                    self._apm.set_stream_delay_ms(self.delay_ms)  # WebRTC wants it before every frame
                self._apm.process_stream(frame)
            y = np.frombuffer(frame.data, dtype=np.int16).astype(np.float32) / 32768.0
            if self.guard is not None:
                with self._lock:
                    keep = self.guard.capture(float(np.mean(f * f)))
                if not keep:
                    y = np.zeros_like(y)
            out.append(self._gate(f, y))
            self.capture_frames += 1
        if not out:
            return np.zeros(0, np.float32)
        return np.concatenate(out)

    def _gate(self, raw: np.ndarray, clean: np.ndarray) -> np.ndarray:
        if self.residual_gate_db <= 0 or not self.echo_cancellation:
            return clean
        a = 0.3  # smoothing over ~3 frames: covers the module's ~9 ms of delay
        self._raw_energy = (1 - a) * self._raw_energy + a * float(np.mean(raw * raw))
        self._out_energy = (1 - a) * self._out_energy + a * float(np.mean(clean * clean))
        if self._raw_energy > 1e-7 and self._out_energy < self._raw_energy * 10 ** (-self.residual_gate_db / 10):
            self.gated_frames += 1
            return np.zeros_like(clean)
        return clean

    def reset(self) -> None:
        """Forget partial frames (e.g. after the input stream restarts). The filter state stays."""
        self._render.reset()
        self._capture.reset()


def echo_canceller(settings, sample_rate: int = 16000, *, decision: tuple[bool, str] | None = None
                   ) -> EchoCanceller | None:
    """The canceller the ``audio:`` settings ask for, or None when it is off. ``decision``: what
    :func:`echo_decision` said for ``echo_cancellation: auto`` (without it, auto means on)."""
    wanted = getattr(settings, "echo_cancellation", False)
    if wanted == "auto":
        wanted = True if decision is None else decision[0]
    if not wanted:
        return None
    return EchoCanceller(sample_rate, noise_suppression=settings.noise_suppression,
                         auto_gain_control=settings.auto_gain_control, delay_ms=settings.echo_delay_ms)


# -- audio.echo_cancellation: auto ---------------------------------------------------------------
_HW = re.compile(r"\(hw:(\d+)(?:,\d+)?\)")
_HEADPHONES = ("headphone", "headset", "handsfree", "hands-free", "earbud", "earpiece")


def _pulse_node(device, kind: str) -> dict | None:
    """PulseAudio's JSON record of the sink/source a device reaches (its default for ``pulse`` /
    ``default``), or None where there is no PulseAudio/PipeWire (or pactl is too old for JSON)."""
    from assistant.audio.devices import _pactl

    name = getattr(device, "pulse_name", None)
    if name is None and getattr(device, "name", "") not in ("pulse", "default"):
        return None
    node = "sink" if kind == "output" else "source"
    if name is None:
        name = (_pactl(f"get-default-{node}") or "").strip()
    text = _pactl("--format=json", "list", node + "s")
    if not name or not text:
        return None
    try:
        return next((n for n in json.loads(text) if n.get("name") == name), None)
    except (ValueError, TypeError, AttributeError):
        return None


def _card(device, node: dict | None) -> str | None:
    """The sound card a device is on: PulseAudio's ``alsa.card`` / ``device.bus_path`` (or the
    Bluetooth address), else ALSA's ``(hw:N,M)`` in PortAudio's name."""
    if node is not None:
        props = node.get("properties") or {}
        for key in ("alsa.card", "device.bus_path", "api.bluez5.address", "device.string"):
            if props.get(key):
                return f"{key}={props[key]}"
        return None
    m = _HW.search(getattr(device, "name", "") or "")
    return f"hw:{m.group(1)}" if m else None


def _is_headphones(node: dict | None) -> bool:
    """The sink plays into headphones/a headset (its form factor, or the active port's name)."""
    if node is None:
        return False
    props = node.get("properties") or {}
    words = [str(props.get("device.form_factor", "")), str(node.get("active_port", ""))]
    words += [str(p.get("name", "")) + " " + str(p.get("type", "")) for p in node.get("ports") or []
              if p.get("name") == node.get("active_port")]
    text = " ".join(words).lower()
    return any(w in text for w in _HEADPHONES)


def echo_decision(microphone, speaker) -> tuple[bool, str]:
    """``audio.echo_cancellation: auto``: on where the microphone and the speaker are on one card
    (a laptop) or on two cards that may hear each other; off where the speaker is known to be
    headphones (nothing reaches the microphone) and where the cards can't be told (virtual or
    network devices): there AEC3 was measured to hurt — with no echo path, a user talking over
    the first reply of a session was not heard (tests/modes/live/test_chat_device.py), as AEC3 suppresses
    the near end while it has not yet learnt that no echo comes. Returns (on, the reason, for
    the captions)."""
    out_node, in_node = _pulse_node(speaker, "output"), _pulse_node(microphone, "input")
    if _is_headphones(out_node):
        return False, "echo cancellation off: the speaker is headphones (audio.echo_cancellation: true forces it)"
    a, b = _card(microphone, in_node), _card(speaker, out_node)
    if a is not None and a == b:
        return True, f"echo cancellation on: microphone and speaker on one device ({a})"
    if a is not None and b is not None:
        return True, ("echo cancellation on: microphone and speaker on different devices, "
                      "which may still hear each other")
    return False, ("echo cancellation off: can't tell whether the microphone and the speaker are one device "
                   "(audio.echo_cancellation: true turns it on for loudspeakers)")
