"""Voice-activity detection: how likely one 32 ms frame (512 samples at 16 kHz) is speech.

Two implementations of one small interface (``speech_probability(frame) -> float``, ``reset()``):

- :class:`SileroVAD`, the Silero model bundled in the ``silero-vad`` package (loaded offline,
  needs only torch; about 0.2-0.6 ms per frame on one CPU thread). Robust to noise and music.
- :class:`EnergyVAD`, dependency-free: band-limited frame energy against an adaptive noise floor.
  Good in quiet rooms, fooled by loud non-speech sounds; the fallback when torch is unwanted.

``make_vad("silero" | "energy", **options)`` builds one.
"""

from __future__ import annotations

import collections
import math
from typing import Protocol, runtime_checkable

import numpy as np

from assistant.core.errors import MissingDependencyError

SAMPLE_RATE = 16000
FRAME = 512  # samples per frame: 32 ms at 16 kHz, the size Silero's 16 kHz model takes
VAD_NAMES = ("silero", "energy")


@runtime_checkable
class VAD(Protocol):
    sample_rate: int
    frame_size: int

    def speech_probability(self, frame: np.ndarray) -> float:
        """Probability in [0, 1] that ``frame`` (float32, ``frame_size`` samples) is speech."""
        ...

    def reset(self) -> None:
        """Forget the stream so far (call between utterances / streams)."""
        ...


def _check_frame(frame: np.ndarray) -> np.ndarray:
    x = np.asarray(frame, dtype=np.float32).reshape(-1)
    if len(x) != FRAME:
        raise ValueError(f"a VAD frame is {FRAME} samples at {SAMPLE_RATE} Hz, got {len(x)}")
    return x


class SileroVAD:
    """The Silero VAD model (``silero-vad`` package). Call ``load()`` before use (``make_vad``
    does), and ``reset()`` between utterances: the model keeps a recurrent state."""

    sample_rate = SAMPLE_RATE
    frame_size = FRAME

    def __init__(self, threads: int | None = None) -> None:
        # torch's thread count is process-wide: setting it here also slows or speeds Whisper and
        # the LLM in the same process, so only when asked. One thread is plenty for one frame.
        self.threads = threads
        self._model = None
        self._torch = None

    def load(self) -> "SileroVAD":
        if self._model is not None:
            return self
        try:
            import torch
        except ImportError:
            raise MissingDependencyError(
                "the Silero VAD needs the package 'torch'",
                "install it with: pip install torch (see the README for the CPU build), or use the energy VAD",
            ) from None
        threads_before = torch.get_num_threads()
        try:
            from silero_vad import load_silero_vad  # its import sets torch to 1 thread, process-wide
        except ImportError:
            raise MissingDependencyError(
                "the Silero VAD needs the package 'silero-vad'",
                "install it with: pip install silero-vad (or use the energy VAD)",
            ) from None
        finally:
            torch.set_num_threads(self.threads or threads_before)  # undo that, or apply ours
        self._torch = torch
        # The bundled ONNX model under onnxruntime runs on its own single thread (0.08 ms a
        # frame here). The TorchScript one shares torch's process-wide thread pool with Whisper
        # and the LLM: while they run, a frame took 10-100 ms on this 2-core machine, which
        # would put the live endpointer behind real time. Both ship inside silero-vad.
        try:
            import onnxruntime

            onnxruntime.disable_telemetry_events()  # with ORT_DISABLE_TELEMETRY (assistant/__init__.py)
            self._model = load_silero_vad(onnx=True)
            self.backend = "onnx"
        except ImportError:
            self._model = load_silero_vad()
            self.backend = "torchscript"
        return self

    def speech_probability(self, frame: np.ndarray) -> float:
        if self._model is None:
            self.load()
        x = _check_frame(frame)
        with self._torch.inference_mode():
            return float(self._model(self._torch.from_numpy(x.copy()), SAMPLE_RATE).item())

    def reset(self) -> None:
        if self._model is not None:
            self._model.reset_states()


class EnergyVAD:
    """Energy against an adaptive noise floor; no dependencies beyond numpy.

    Method, per 32 ms frame:
    1. Level: the frame's energy in the speech band (``band_hz``, 150-4000 Hz by default; Hann
       window, real FFT) in dB relative to full scale, scaled to read like an RMS level in dBFS
       for in-band sound. The band limit ignores hum, rumble and hiss.
    2. Noise floor, by minimum statistics: the lowest level of the last ``window_s`` seconds
       (3 s) of sound. Speech dips to the background between syllables and words within a few
       seconds, steady noise never leaves it, so the minimum tracks the background without
       following a long utterance up. Frames under ``min_level_db`` (digital silence, a muted
       mic) carry no information about the room and are left out.
    3. Steady sound: when the last ``steady_s`` seconds (1 s) stayed within ``steady_db``
       (6 dB), that sound is background (a fan switched on): the floor jumps to it at once
       instead of after ``window_s``. Speech is not that steady for that long.
    4. Probability: a logistic function of the level above the floor, 0.5 at ``margin_db``
       (12 dB), ``slope_db`` dB per e-fold; frames under ``min_level_db`` (-80 dBFS) score 0.
    Limits: any loud, unsteady sound (music, a door, a TV) is "speech"; speech less than about
    15 dB above the background is missed; a stream that starts in mid-speech is detected from its
    first pause on. Prefer Silero when torch is available.
    """

    sample_rate = SAMPLE_RATE
    frame_size = FRAME

    def __init__(self, margin_db: float = 12.0, slope_db: float = 2.0, min_level_db: float = -80.0,
                 band_hz: tuple[float, float] = (150.0, 4000.0), window_s: float = 3.0,
                 steady_s: float = 1.0, steady_db: float = 6.0) -> None:
        self.margin_db, self.slope_db, self.min_level_db = margin_db, slope_db, min_level_db
        self.steady_db = steady_db
        frame_s = FRAME / SAMPLE_RATE
        freqs = np.fft.rfftfreq(FRAME, 1.0 / SAMPLE_RATE)
        self._band = (freqs >= band_hz[0]) & (freqs <= band_hz[1])
        self._window = np.hanning(FRAME).astype(np.float32)
        # Parseval with the window's power: a sine of amplitude a in the band reads 20*log10(a/sqrt 2)
        self._scale = 2.0 / (float(np.sum(self._window ** 2)) * FRAME)
        self._history: collections.deque[float] = collections.deque(maxlen=max(2, round(window_s / frame_s)))
        self._steady = max(2, round(steady_s / frame_s))
        self.last_level_db = -120.0

    def level_db(self, frame: np.ndarray) -> float:
        x = _check_frame(frame)
        spectrum = np.fft.rfft(x * self._window)[self._band]
        power = float(np.sum(spectrum.real ** 2 + spectrum.imag ** 2)) * self._scale
        return 10.0 * math.log10(power + 1e-12)

    def speech_probability(self, frame: np.ndarray) -> float:
        level = self.level_db(frame)
        self.last_level_db = level
        if level < self.min_level_db:
            return 0.0
        self._history.append(level)
        if len(self._history) >= self._steady:
            recent = list(self._history)[-self._steady:]
            if max(recent) - min(recent) <= self.steady_db and min(recent) > min(self._history):
                self._history.clear()  # a new steady background: forget the quieter past
                self._history.extend(recent)
        z = (level - min(self._history) - self.margin_db) / self.slope_db
        return 1.0 / (1.0 + math.exp(-max(-60.0, min(60.0, z))))

    def reset(self) -> None:
        """Between utterances the noise floor is kept (it describes the room, not the utterance);
        ``reset_floor()`` forgets it too (a new stream or device)."""

    def reset_floor(self) -> None:
        self._history.clear()


def make_vad(name: str = "silero", threads: int | None = None, **options) -> VAD:
    """A loaded VAD by name: ``silero`` (needs silero-vad + torch) or ``energy``. ``threads``
    (Silero only) sets torch's process-wide thread count; None leaves it alone."""
    if name == "silero":
        return SileroVAD(threads=threads, **options).load()
    if name == "energy":
        return EnergyVAD(**options)
    raise ValueError(f"unknown VAD '{name}': choose one of {', '.join(VAD_NAMES)}")
