"""Microphone capture: a PortAudio input stream at the device's own rate, delivered as float32 mono
blocks at the rate the pipeline asks for (16 kHz for VAD and Whisper).

The stream opens at the device's native rate and channel count (many devices cannot open at
16 kHz); the sounddevice callback only copies each block into an unbounded queue, so nothing is
dropped when the reader is late, and PortAudio's overflow flags are counted. ``read()`` mixes to
mono and resamples with :class:`StreamResampler`, whose state carries across blocks so block
borders make no clicks.

Each block carries when its samples were captured (PortAudio's ``inputBufferAdcTime``, put on
``time.monotonic()``): after ``read()``, ``captured_until`` is the monotonic time at which the
block's last sample reached the microphone. The device buffers and the time a block waited in the
queue (a busy reader) are then part of every latency measured from the end of speech.
"""

from __future__ import annotations

import queue
import time
from math import gcd

import numpy as np

from assistant.audio.devices import DeviceInfo, import_sounddevice, open_stream, resolve_device
from assistant.core.resample import to_mono


def stream_time(stream, fallback: float) -> float:
    """PortAudio's stream clock now (the time base of the callback's timestamps)."""
    try:
        return float(stream.time) if stream is not None else fallback
    except Exception:  # closing, or a host API without a clock: the callback's own time
        return fallback


class StreamResampler:
    """Streaming polyphase resampler (any rate to any rate).

    Feeding a signal in blocks of any size gives the same samples as resampling it in one go with
    ``scipy.signal.resample_poly`` (same Kaiser-windowed FIR), except that each output waits for
    the half filter length of input it needs (well under 1 ms of audio). ``flush()`` returns the
    held-back tail at the end of a stream.
    """

    def __init__(self, from_rate: int, to_rate: int) -> None:
        self.from_rate, self.to_rate = int(from_rate), int(to_rate)
        g = gcd(self.from_rate, self.to_rate)
        self.up, self.down = self.to_rate // g, self.from_rate // g
        self._passthrough = self.up == self.down
        if self._passthrough:
            return
        from scipy.signal import firwin

        up, down = self.up, self.down
        half = 10 * max(up, down)  # as resample_poly
        h = firwin(2 * half + 1, 1.0 / max(up, down), window=("kaiser", 5.0)) * up
        self._taps = -(-len(h) // up)  # ceil
        padded = np.zeros(self._taps * up)
        padded[: len(h)] = h
        # Output n is centred on the up-sampled instant m = n*down + half (as in resample_poly, which
        # removes the filter's delay); it is sum_k h[p + k*up] * x[q0 - k] with q0 = m // up and
        # phase p = m - q0*up. _phases[p, k] = h[p + k*up].
        self._phases = padded.reshape(self._taps, up).T.astype(np.float32).copy()
        self._half = half
        self.reset()

    def reset(self) -> None:
        if self._passthrough:
            return
        self._hist = np.zeros(self._taps - 1, np.float32)  # last inputs (global index _in - len)
        self._in = 0  # input samples consumed so far
        self._n = 0  # next output index

    def process(self, block: np.ndarray) -> np.ndarray:
        x = np.asarray(block, dtype=np.float32).reshape(-1)
        if self._passthrough:
            return x.copy()
        buf = np.concatenate([self._hist, x])
        start = self._in - len(self._hist)  # global index of buf[0]
        total = self._in + len(x)
        n_end = -(-(total * self.up - self._half) // self.down)  # outputs whose newest input is here
        out = np.zeros(0, np.float32)
        if n_end > self._n:
            n = np.arange(self._n, n_end, dtype=np.int64)
            m = n * self.down + self._half
            q0 = m // self.up
            phase = m - q0 * self.up
            idx = (q0 - start)[:, None] - np.arange(self._taps)[None, :]
            out = np.einsum("nk,nk->n", self._phases[phase], buf[idx]).astype(np.float32)
            self._n = int(n_end)
        keep = self._taps - 1
        if keep:
            self._hist = buf[-keep:] if len(buf) >= keep else np.concatenate(
                [np.zeros(keep - len(buf), np.float32), buf])
        self._in = total
        return out

    def flush(self) -> np.ndarray:
        """The outputs still held back for look-ahead (feeds zeros), then reset."""
        if self._passthrough:
            return np.zeros(0, np.float32)
        want = -(-(self._in * self.up) // self.down) - self._n  # the signal has ceil(in*up/down)
        out = self.process(np.zeros(self._taps, np.float32))[: max(want, 0)]
        self.reset()
        return out


class Microphone:
    """Live input as float32 mono blocks at ``target_rate``. Open with ``start()`` or ``with``.

    ``device``: a DeviceInfo, or what ``resolve_device`` takes (None = default, index, name part).
    ``samplerate``/``channels`` force the device format (default: the device's native one).
    ``echo``: an :class:`~assistant.audio.echo.EchoCanceller` at ``target_rate`` (shared with the
    Speaker) that removes the assistant's own voice from every block.
    """

    def __init__(self, device: DeviceInfo | str | int | None = None, block_ms: float = 32,
                 target_rate: int = 16000, samplerate: int | None = None, channels: int | None = None,
                 echo=None) -> None:
        self._spec = device
        self.block_ms = block_ms
        self.target_rate = int(target_rate)
        self._force_rate, self._force_channels = samplerate, channels
        self.device: DeviceInfo | None = device if isinstance(device, DeviceInfo) else None
        self.samplerate: int | None = None  # the device rate the stream runs at
        self.channels: int | None = None
        self.overflows = 0  # PortAudio input-overflow flags seen (audio lost in the device/driver)
        # (samples, monotonic time of the block's first sample at the microphone)
        self._queue: queue.Queue[tuple[np.ndarray, float]] = queue.Queue()
        self.captured_until: float | None = None  # monotonic time of the last read sample's capture
        self._stream = None
        self._resampler: StreamResampler | None = None
        self.echo = echo

    def start(self) -> "Microphone":
        if self._stream is not None:
            return self
        if self.device is None:
            self.device = resolve_device(self._spec, "input")

        def prepare(rate: int, channels: int) -> None:  # before the callback can run
            self.samplerate, self.channels = rate, channels
            self._resampler = StreamResampler(rate, self.target_rate)

        self._stream = open_stream(self.device, "input", self._force_rate, self._force_channels,
                                   self.block_ms, "low", self._callback, prepare)
        return self

    def _callback(self, indata, frames, time_info, status) -> None:  # PortAudio's thread: copy only
        if status.input_overflow:
            self.overflows += 1
        now = time.monotonic()
        adc, current = float(time_info.inputBufferAdcTime or 0.0), float(time_info.currentTime or 0.0)
        if adc > 0.0 and current > 0.0:
            # PortAudio's clock read now, not currentTime: the callback may have waited for the GIL
            first = now - max(0.0, stream_time(self._stream, current) - adc)
        else:  # no timestamps from this host API: the block has just been filled
            first = now - frames / (self.samplerate or 16000)
        self._queue.put((indata.copy(), first))

    def read(self, timeout: float | None = None) -> np.ndarray | None:
        """The next block (float32 mono at ``target_rate``), or None when none came within ``timeout``."""
        if self._stream is None:
            self.start()
        try:
            block, first = self._queue.get(timeout=timeout)
        except queue.Empty:
            return None
        assert self._resampler is not None and self.samplerate
        self.captured_until = first + len(block) / self.samplerate
        out = self._resampler.process(to_mono(block))
        return self.echo.process_capture(out, self.captured_until) if self.echo is not None else out

    def drain(self) -> int:
        """Drop the blocks already queued (e.g. the assistant's own reply); returns how many."""
        n = 0
        while True:
            try:
                self._queue.get_nowait()
                n += 1
            except queue.Empty:
                return n

    @property
    def pending(self) -> int:
        return self._queue.qsize()

    def close(self) -> None:
        stream, self._stream = self._stream, None
        if stream is not None:
            sd = import_sounddevice()
            try:
                stream.abort()  # not stop(): that waits for PortAudio's buffers to drain (Ctrl-C must be quick)
                stream.close()
            except sd.PortAudioError:
                pass  # closing a stream whose device vanished: nothing left to release

    def __enter__(self) -> "Microphone":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()
