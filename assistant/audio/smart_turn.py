"""Smart Turn v3: is the speaker done, or only pausing? (end-of-turn model from Pipecat, BSD-2).

The model reads the words' sound, not a transcript: Whisper-style log-mel features of the last
8 s of the utterance (16 kHz, zero-padded at the *start* when shorter, waveform normalised to
zero mean and unit variance) and returns the probability that the turn is complete. We feed it
what Pipecat's ``LocalSmartTurnAnalyzerV3`` feeds it (the utterance from a little before its
onset to now, trailing silence included) and use its threshold, 0.5.

The ONNX file ships inside the ``pipecat-ai`` wheel; we don't depend on pipecat (it pulls ~25
packages), we only take the file: :func:`model_path` finds it in the starter pack, else in an
installed pipecat-ai, else fails naming :func:`install_model`, which extracts it from a
pipecat-ai wheel (downloaded with pip when none is given).
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from assistant.core.errors import ModelNotFoundError
from assistant.core.hub import starter_dir

MODEL_FILE = "smart-turn-v3.2-cpu.onnx"
WHEEL_MEMBER = f"pipecat/audio/turn/smart_turn/data/{MODEL_FILE}"
PIPECAT_VERSION = "1.14.0"  # the wheel the file was checked against (8,679,182 bytes)
SAMPLE_RATE = 16000
WINDOW_S = 8


def cached_model() -> Path:
    """Where the starter pack keeps the model."""
    return starter_dir() / "smart-turn" / MODEL_FILE


def _installed_pipecat_model() -> Path | None:
    # Locate without importing pipecat (its __init__ pulls loguru & co).
    from importlib import metadata

    try:
        dist = metadata.distribution("pipecat-ai")
    except metadata.PackageNotFoundError:
        return None
    path = Path(str(dist.locate_file(WHEEL_MEMBER)))
    return path if path.is_file() else None


def model_path() -> Path:
    """The Smart Turn v3 ONNX file: starter pack first, then an installed pipecat-ai."""
    for path in (cached_model(), _installed_pipecat_model()):
        if path is not None and path.is_file():
            return path
    raise ModelNotFoundError(
        f"the Smart Turn end-of-turn model is not installed (looked for {cached_model()})",
        "run `python3 -c 'from assistant.audio.smart_turn import install_model; install_model()'` "
        "(extracts it from the pipecat-ai wheel), or set audio.end_of_turn: silence")


def install_model(wheel: str | Path | None = None, dest: Path | None = None) -> Path:
    """Extract the model from a pipecat-ai wheel into the starter pack; download the wheel
    (``pip download --no-deps``, no other package) when none is given. Returns the file."""
    dest = dest or cached_model()
    with tempfile.TemporaryDirectory() as tmp:
        if wheel is None:
            subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--quiet",
                            f"pipecat-ai=={PIPECAT_VERSION}", "-d", tmp], check=True)
            wheel = next(Path(tmp).glob("pipecat_ai-*.whl"))
        with zipfile.ZipFile(wheel) as z:
            data = z.read(WHEEL_MEMBER)
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_suffix(".part")
    part.write_bytes(data)
    part.replace(dest)
    return dest


class SmartTurn:
    """Blocking end-of-turn classifier. ``load()`` opens the ONNX session; ``complete(audio)``."""

    def __init__(self, path: str | Path | None = None, threshold: float = 0.5, threads: int = 1) -> None:
        self.path = path
        self.threshold = threshold
        self.threads = max(1, threads)
        self.session: Any = None
        self.extractor: Any = None
        self.last_probability: float | None = None
        self.last_seconds: float | None = None  # time of the latest decision (features + model)

    def load(self) -> "SmartTurn":
        import onnxruntime as ort
        from transformers import WhisperFeatureExtractor

        path = Path(self.path) if self.path else model_path()
        if not path.is_file():
            raise ModelNotFoundError(f"Smart Turn model file '{path}' does not exist",
                                     "set audio.smart_turn_model to the .onnx file, or leave it empty")
        so = ort.SessionOptions()
        so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        so.inter_op_num_threads = 1
        so.intra_op_num_threads = self.threads
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.session = ort.InferenceSession(str(path), sess_options=so, providers=["CPUExecutionProvider"])
        # Same mel as Whisper (matches openai-whisper's to 1e-7), over an 8 s window.
        self.extractor = WhisperFeatureExtractor(chunk_length=WINDOW_S)
        self.probability(np.zeros(SAMPLE_RATE, np.float32))  # first run allocates: keep it off a turn
        return self

    def probability(self, audio: np.ndarray) -> float:
        """Probability that the speech in ``audio`` (16 kHz float32, ending now) is a finished turn."""
        if self.session is None:
            self.load()
        t0 = time.perf_counter()
        x = np.asarray(audio, np.float32).reshape(-1)[-WINDOW_S * SAMPLE_RATE:]
        x = np.pad(x, (WINDOW_S * SAMPLE_RATE - len(x), 0))  # the model was trained left-padded
        features = self.extractor(x, sampling_rate=SAMPLE_RATE, padding="max_length",
                                  max_length=WINDOW_S * SAMPLE_RATE, truncation=True, do_normalize=True,
                                  return_tensors="np").input_features.astype(np.float32)
        p = float(np.asarray(self.session.run(None, {"input_features": features})[0]).reshape(-1)[0])
        self.last_probability = p
        self.last_seconds = time.perf_counter() - t0
        return p

    def complete(self, audio: np.ndarray) -> bool:
        return self.probability(audio) > self.threshold
