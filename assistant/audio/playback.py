"""Speaker output with barge-in: a PortAudio output stream at the device's native rate whose
callback pulls from an internal buffer.

``play()`` resamples each chunk to the device rate (one streaming resampler across the chunks of
a reply, so sentence borders make no clicks) and appends it; ``stop()`` empties the buffer, so
the next callback, at most one block (10 ms) later, writes silence. What is still in the device
and sound-server buffers then plays out: that is the rest of the stop latency, which
``last_stop_latency`` reports from PortAudio's DAC timestamps.

``play(chunk, watch=True)`` returns the place in the stream of the chunk's first sound;
``heard_at(place)`` then gives the ``time.monotonic()`` at which it reaches the speaker (from the callback's
``outputBufferDacTime``), so a reply's first-audio latency includes what was queued ahead of it
and the device buffers.

Input and output are separate streams: full-duplex streams fail on ALSA's pulse plugin.
"""

from __future__ import annotations

import collections
import threading
import time

import numpy as np

from assistant.audio.capture import StreamResampler, stream_time
from assistant.audio.devices import DeviceInfo, import_sounddevice, open_stream, resolve_device
from assistant.core.types import AudioChunk

PIECE_S = 0.25  # play() resamples and queues a chunk in pieces of this many seconds
SOUND = 10 ** (-40 / 20)  # -40 dBFS: quieter leading samples are silence to the listener


class Speaker:
    """Live output. Open with ``start()`` or ``with``; ``play()`` starts it too.

    ``device``: a DeviceInfo, or what ``resolve_device`` takes (None = default, index, name part).
    ``block_ms``: the callback period; ``latency``: PortAudio's output buffer (seconds or "low"/
    "high"). Together they bound the stop latency (measured on PulseAudio: 10 ms + 0.03 s gives
    30-45 ms; "low" (0.02 s) 30-40 ms but now and then an underrun on a busy 2-core machine).
    """

    def __init__(self, device: DeviceInfo | str | int | None = None, block_ms: float = 10,
                 samplerate: int | None = None, channels: int | None = None,
                 latency: float | str = 0.03, echo=None) -> None:
        self._spec = device
        self.latency = latency
        self.block_ms = block_ms
        self._force_rate, self._force_channels = samplerate, channels
        self.device: DeviceInfo | None = device if isinstance(device, DeviceInfo) else None
        self.samplerate: int | None = None
        self.channels: int | None = None
        self.underflows = 0  # PortAudio output-underflow flags seen (audible gaps)
        self._lock = threading.Lock()
        self._idle = threading.Event()
        self._idle.set()
        self._buffer: collections.deque[np.ndarray] = collections.deque()
        self._offset = 0  # samples of _buffer[0] already played
        self._queued = 0  # samples in _buffer not yet played
        self._consumed = 0  # samples handed to the device since open
        self._last_dac_end = 0.0  # stream time at which the last handed-over sample is heard
        self._generation = 0  # bumped by every clear: what was being queued is dropped
        self._watched: dict[int, float | None] = {}  # stream place → monotonic time it is heard
        self._stop_requested_at: float | None = None
        self.last_stop_latency: float | None = None  # seconds from stop() until silence is heard
        self._resampler: StreamResampler | None = None
        self._stream = None
        self.echo = echo  # an EchoCanceller: told everything played (its reference signal)

    # -- lifetime ------------------------------------------------------------------------------
    def start(self) -> "Speaker":
        if self._stream is not None:
            return self
        if self.device is None:
            self.device = resolve_device(self._spec, "output")

        def prepare(rate: int, channels: int) -> None:  # before the callback can run
            self.samplerate, self.channels = rate, channels

        self._stream = open_stream(self.device, "output", self._force_rate, self._force_channels,
                                   self.block_ms, self.latency, self._callback, prepare)
        return self

    def close(self) -> None:
        stream, self._stream = self._stream, None
        with self._lock:
            self._clear()
        if stream is not None:
            sd = import_sounddevice()
            try:
                stream.abort()  # not stop(): that waits for PortAudio's buffers to drain (Ctrl-C must be quick)
                stream.close()
            except sd.PortAudioError:
                pass

    def __enter__(self) -> "Speaker":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()

    # -- the audio thread ----------------------------------------------------------------------
    def _callback(self, outdata, frames, time_info, status) -> None:
        if status.output_underflow:
            self.underflows += 1
        outdata.fill(0.0)
        written = 0
        with self._lock:
            while written < frames and self._buffer:
                head = self._buffer[0]
                n = min(frames - written, len(head) - self._offset)
                outdata[written:written + n, :] = head[self._offset:self._offset + n, None]
                written += n
                self._offset += n
                if self._offset >= len(head):
                    self._buffer.popleft()
                    self._offset = 0
            self._queued -= written
            start = self._consumed
            self._consumed += written
            current = float(time_info.currentTime or 0.0)
            dac = float(time_info.outputBufferDacTime or 0.0)
            if dac <= 0.0:  # some host APIs give no timestamps: assume the buffer plays at once
                dac = current
            if written:
                self._last_dac_end = dac + written / self.samplerate
                for place, heard in self._watched.items():
                    if heard is None and start <= place < self._consumed:
                        # on PortAudio's clock read now: the callback may have waited for the GIL
                        self._watched[place] = (time.monotonic() + max(0.0, dac - stream_time(self._stream, current))
                                                + (place - start) / self.samplerate)
            if self._stop_requested_at is not None:
                self.last_stop_latency = max(0.0, dac - self._stop_requested_at)
                self._stop_requested_at = None
            if not self._buffer:
                self._idle.set()
        if self.echo is not None:  # silence too: the canceller's clock runs on it
            heard = None
            if time_info.outputBufferDacTime:  # when it leaves the speaker, on time.monotonic()'s clock
                heard = time.monotonic() + max(0.0, float(time_info.outputBufferDacTime)
                                               - stream_time(self._stream, float(time_info.currentTime or 0.0)))
            self.echo.push_render(outdata[:, 0], self.samplerate, heard)

    # -- control -------------------------------------------------------------------------------
    def play(self, chunk: AudioChunk, watch: bool = False) -> int | None:
        """Queue ``chunk`` behind what is already queued (returns when it is queued). ``watch``:
        return the place in the stream of the chunk's first sound (a sample at -40 dBFS or
        louder), for ``heard_at``; None when the chunk is silent.

        The chunk is resampled and queued in pieces of ``PIECE_S``: the device starts on the first
        piece while the rest is resampled (a whole sentence at once took 70-340 ms here)."""
        if self._stream is None:
            self.start()
        generation = self._generation
        x = np.clip(chunk.samples, -1.0, 1.0)
        step = max(1, int(PIECE_S * chunk.sample_rate))
        first_sound = None
        for i in range(0, len(x), step):
            samples = self._resample(x[i:i + step], chunk.sample_rate)
            loud = np.flatnonzero(np.abs(samples) >= SOUND) if watch and first_sound is None else ()
            with self._lock:
                if self._generation != generation:  # stop() came in meanwhile: drop the rest
                    return None
                if len(loud):
                    first_sound = self._consumed + self._queued + int(loud[0])
                    if len(self._watched) >= 64:  # forget the oldest
                        self._watched.pop(next(iter(self._watched)))
                    self._watched[first_sound] = None
                if len(samples):
                    self._buffer.append(samples)
                    self._queued += len(samples)
                    self._idle.clear()
        return first_sound

    def heard_at(self, place: int) -> float | None:
        """The ``time.monotonic()`` at which the sample at ``place`` (from ``play(watch=True)``)
        reaches the speaker; None while it has not been handed to the device (or was dropped)."""
        with self._lock:
            return self._watched.get(place)

    def _resample(self, samples: np.ndarray, rate: int) -> np.ndarray:
        assert self.samplerate is not None
        tail = np.zeros(0, np.float32)
        if self._resampler is None or self._resampler.from_rate != rate:
            if self._resampler is not None:
                tail = self._resampler.flush()
            self._resampler = StreamResampler(rate, self.samplerate)
        out = self._resampler.process(samples)
        return np.concatenate([tail, out]) if len(tail) else out

    def _flush_resampler(self) -> None:
        if self._resampler is not None:
            tail = self._resampler.flush()
            if len(tail):
                with self._lock:
                    self._buffer.append(tail)
                    self._queued += len(tail)
                    self._idle.clear()

    def _clear(self) -> int:
        dropped = self._queued
        self._generation += 1  # a play() in progress stops queueing
        self._watched = {p: t for p, t in self._watched.items() if t is not None}  # dropped unheard
        self._buffer.clear()
        self._offset = 0
        self._queued = 0
        self._idle.set()
        if self._resampler is not None:
            self._resampler.reset()
        return dropped

    def stop(self) -> float:
        """Barge-in: drop everything queued; silence from the next callback block. Returns the
        seconds of queued audio that will never be played."""
        with self._lock:
            dropped = self._clear()
            if self._stream is not None and dropped:
                self._stop_requested_at = self._now()
        return dropped / self.samplerate if self.samplerate else 0.0

    def wait_done(self, timeout: float | None = None) -> bool:
        """Mark the end of the queued audio and wait until it has been heard. False on timeout."""
        self._flush_resampler()
        deadline = None if timeout is None else time.monotonic() + timeout
        if not self._idle.wait(timeout):
            return False
        while self._stream is not None:  # the buffer is handed over; wait for it to be heard
            left = self._last_dac_end - self._now()
            if left <= 0:
                break
            if deadline is not None and time.monotonic() + left > deadline:
                time.sleep(max(0.0, deadline - time.monotonic()))
                return False
            time.sleep(min(left, 0.05))
        return True

    @property
    def is_playing(self) -> bool:
        """True while queued audio is left or still in the device buffer."""
        with self._lock:
            if self._queued > 0:
                return True
        return self._stream is not None and self._now() < self._last_dac_end

    def played_seconds(self) -> float:
        """Seconds of queued audio heard since the speaker opened (excluding what still sits in
        the device buffer). Take it before a reply and after ``stop()`` to know how much of the
        reply the user heard."""
        if not self.samplerate:
            return 0.0
        with self._lock:
            consumed = self._consumed
            in_device = max(0.0, self._last_dac_end - self._now()) if self._stream is not None else 0.0
        return max(0.0, consumed / self.samplerate - in_device)

    @property
    def queued_seconds(self) -> float:
        return self._queued / self.samplerate if self.samplerate else 0.0

    def _now(self) -> float:
        stream = self._stream
        if stream is None:
            return 0.0
        try:
            return float(stream.time)
        except import_sounddevice().PortAudioError:  # the stream is closing under us
            return 0.0
