"""Device timing without a device: when a reply's first sound is heard (PortAudio's DAC time),
when a microphone block was captured (its ADC time);
the callback is driven by hand, as PortAudio's thread would."""

from __future__ import annotations

import time
from types import SimpleNamespace

import numpy as np

from assistant.audio.playback import Speaker
from assistant.core.types import AudioChunk

RATE = 16000


class _Stream:
    time = 10.0  # PortAudio's stream clock

    def stop(self) -> None: ...

    def abort(self) -> None: ...

    def close(self) -> None: ...


def speaker() -> Speaker:
    s = Speaker(samplerate=RATE, channels=1)
    s._stream, s.samplerate, s.channels = _Stream(), RATE, 1  # "opened": the test is the device
    return s


def callback(s: Speaker, frames: int, current: float, dac: float, late: float = 0.0) -> np.ndarray:
    """One callback block; ``late``: seconds it waited (for the GIL) after PortAudio's currentTime."""
    s._stream.time = current + late
    out = np.zeros((frames, 1), np.float32)
    s._callback(out, frames, SimpleNamespace(currentTime=current, outputBufferDacTime=dac,
                                             inputBufferAdcTime=0.0),
                SimpleNamespace(output_underflow=False))
    return out


def reply(lead_s: float, sound_s: float) -> AudioChunk:
    x = np.concatenate([np.zeros(int(lead_s * RATE)), 0.3 * np.ones(int(sound_s * RATE))])
    return AudioChunk(x.astype(np.float32), RATE)


def test_first_sound_is_heard_at_the_dac_time_after_what_was_queued_ahead():
    s = speaker()
    s.play(AudioChunk(np.full(1600, 0.2, np.float32), RATE))  # 100 ms already queued (a cue)
    place = s.play(reply(lead_s=0.05, sound_s=0.5), watch=True)
    assert place == 1600 + 800  # after the cue and the reply's own leading silence
    assert s.heard_at(place) is None  # not handed to the device yet
    callback(s, 1600, current=10.0, dac=10.04)  # the cue
    assert s.heard_at(place) is None
    t0 = time.monotonic()
    # 40 ms of device buffer, of which the callback spent 30 waiting; the sound starts 800 samples in
    callback(s, 1600, current=10.1, dac=10.14, late=0.03)
    t1 = time.monotonic()
    heard = s.heard_at(place)
    assert t0 + 0.01 + 0.05 - 1e-6 <= heard <= t1 + 0.01 + 0.05 + 1e-6


def test_a_silent_chunk_has_no_first_sound_and_stop_forgets_what_was_watched():
    s = speaker()
    assert s.play(AudioChunk(np.zeros(1600, np.float32), RATE), watch=True) is None
    place = s.play(reply(0.0, 0.2), watch=True)
    s.stop()  # barge-in before it was played: never heard
    s.play(reply(0.0, 1.0))  # the next reply reuses the stream places
    callback(s, 16000, current=20.0, dac=20.03)
    assert s.heard_at(place) is None


def test_a_long_chunk_is_queued_in_pieces_with_the_same_samples():
    s = speaker()
    x = np.sin(np.arange(3 * 22050) / 22050 * 2 * np.pi * 440).astype(np.float32) * 0.5
    s.play(AudioChunk(x, 22050))
    assert len(s._buffer) > 1  # the device can start on the first piece
    from assistant.audio.capture import StreamResampler

    whole = StreamResampler(22050, RATE).process(x)
    np.testing.assert_allclose(np.concatenate(list(s._buffer)), whole, atol=1e-5)


def test_a_microphone_block_is_dated_by_its_adc_time_even_when_the_callback_ran_late():
    from assistant.audio.capture import Microphone

    mic = Microphone(target_rate=RATE)
    mic._stream, mic.samplerate, mic.channels = _Stream(), RATE, 1
    from assistant.audio.capture import StreamResampler

    mic._resampler = StreamResampler(RATE, RATE)
    mic._stream.time = 10.05  # PortAudio's clock when the callback got the GIL, 50 ms late
    t0 = time.monotonic()
    mic._callback(np.zeros((512, 1), np.float32), 512,
                  SimpleNamespace(inputBufferAdcTime=9.9, currentTime=10.0, outputBufferDacTime=0.0),
                  SimpleNamespace(input_overflow=False))
    t1 = time.monotonic()
    assert mic.read(timeout=1) is not None
    # the block's first sample was captured 150 ms before the callback ran; its last 32 ms later
    assert t0 - 0.15 + 0.032 - 1e-6 <= mic.captured_until <= t1 - 0.15 + 0.032 + 1e-6
