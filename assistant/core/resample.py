from __future__ import annotations

from math import gcd

import numpy as np


def resample(samples: np.ndarray, from_rate: int, to_rate: int) -> np.ndarray:
    """Band-limited polyphase resampling of mono float32 audio (any rate to any rate)."""
    if from_rate == to_rate or len(samples) == 0:
        return samples.astype(np.float32, copy=False)
    from scipy.signal import resample_poly

    g = gcd(int(from_rate), int(to_rate))
    out = resample_poly(samples.astype(np.float32, copy=False), to_rate // g, from_rate // g)
    return out.astype(np.float32, copy=False)


def to_mono(block: np.ndarray) -> np.ndarray:
    """(frames, channels) or (frames,) → (frames,) float32, averaging channels."""
    if block.ndim == 1:
        return block.astype(np.float32, copy=False)
    return block.astype(np.float32, copy=False).mean(axis=1)
