"""Import coqui-tts on machines where torchaudio (or torchcodec) can't be loaded.

Why this exists
---------------
coqui-tts 0.28 refuses to import unless ``importlib.util.find_spec("torchaudio")`` succeeds and,
with torch >= 2.9, ``find_spec("torchcodec")`` too (``TTS/__init__.py``), although it lists both
only as extras. torchaudio and torchcodec ship compiled libraries built for one torch version
(and CUDA flavour); where no matching build exists - e.g. CPU torch 2.13, for which the registry
has only CUDA builds for older torch - they fail to load (``OSError: Could not load this
library``). Yet VITS-family inference (VITS, YourTTS, the Fairseq MMS voices) touches torchaudio
only to construct ``torchaudio.transforms.Resample`` in ``Vits.init_upsampling`` (pure Python;
the resampler itself is used in training only), and never touches torchcodec.

What it does
------------
``import_tts()`` returns ``TTS.api.TTS``. Wrap model construction in ``torchaudio_standins()``.

1. If the real ``torchaudio`` imports, it is used; nothing is replaced.
2. Otherwise, for the duration of ``torchaudio_standins()`` only (the import of coqui-tts and the
   construction of a model, when coqui's modules run ``import torchaudio``), a stand-in module
   named ``torchaudio`` sits in ``sys.modules``: it provides ``transforms.Resample`` and
   ``functional.resample`` (a pure-torch port of torchaudio's windowed-sinc resampler, same
   results and same state-dict keys), and every other attribute (``load``, ``save``,
   ``transforms.MelSpectrogram``, ...) raises ``TorchaudioUnavailableError`` saying that real
   torchaudio is needed and how to get it. Likewise a ``torchcodec`` stand-in when torchcodec
   is not installed at all (coqui only checks that it can be found).
3. On leaving the scope the stand-ins are taken out of ``sys.modules`` again: coqui's modules
   keep their reference, but other libraries (transformers picks audio back-ends from
   ``find_spec("torchaudio")`` / ``find_spec("torchcodec")``) never mistake them for the real
   packages.

The ordinary install (a torch + torchaudio pair from the same index, GPU or not) never reaches
step 2.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import importlib.machinery
import importlib.util
import logging
import math
import sys
import threading
import types
import warnings
from typing import Any, Iterator

from assistant.core.errors import MissingDependencyError

log = logging.getLogger(__name__)

STANDIN_ORIGIN = "assistant.tts.torchaudio_compat (stand-in)"
TORCHAUDIO_DOCS = "https://pytorch.org/audio/main/installation.html"
TORCHCODEC_DOCS = "https://github.com/meta-pytorch/torchcodec#installing-torchcodec"

_lock = threading.RLock()
_real_torchaudio_checked = False
_real_torchaudio_error: BaseException | None = None
_announced = False  # the stand-in is logged at INFO once, then at DEBUG


class TorchaudioUnavailableError(MissingDependencyError, AttributeError):
    """A feature of torchaudio/torchcodec was used that the stand-in doesn't provide.

    An AttributeError too, so ``hasattr(torchaudio, "load")`` is simply False on the stand-in.
    """


# --- the resampler: a port of torchaudio's -----------------------------------------------------
# Ported from torchaudio 2.11 (torchaudio/functional/functional.py: _get_sinc_resample_kernel,
# _apply_sinc_resample_kernel, resample; torchaudio/transforms/_transforms.py: Resample).
# torchaudio: Copyright (c) 2017 Facebook Inc. (Soumith Chintala), BSD 2-Clause License:
# redistributions of source code must retain this copyright notice and the licence's conditions
# and disclaimer, https://github.com/pytorch/audio/blob/main/LICENSE .


def _sinc_resample_kernel(orig_freq: int, new_freq: int, gcd: int, lowpass_filter_width: int = 6,
                          rolloff: float = 0.99, resampling_method: str = "sinc_interp_hann",
                          beta: float | None = None, device: Any = None, dtype: Any = None):
    import torch

    if not (int(orig_freq) == orig_freq and int(new_freq) == new_freq):
        raise ValueError("Frequencies must be integers (scale both to keep their ratio).")
    renamed = {"sinc_interpolation": "sinc_interp_hann", "kaiser_window": "sinc_interp_kaiser"}
    if resampling_method in renamed:
        warnings.warn(f"resampling method {resampling_method!r} is deprecated; use "
                      f"{renamed[resampling_method]!r}", stacklevel=3)
        resampling_method = renamed[resampling_method]
    if resampling_method not in ("sinc_interp_hann", "sinc_interp_kaiser"):
        raise ValueError(f"Invalid resampling method: {resampling_method}")
    if lowpass_filter_width <= 0:
        raise ValueError("Low pass filter width should be positive.")
    device = device if device is not None else torch.device("cpu")

    orig_freq = int(orig_freq) // gcd
    new_freq = int(new_freq) // gcd
    # Low-pass below the lower Nyquist frequency (also when upsampling: the edges act as zero
    # padding). y[j] = sum_i x[i] sinc(pi * orig * (i / orig - j / new)): one filter per output
    # phase, applied with conv1d at stride orig_freq.
    base_freq = min(orig_freq, new_freq) * rolloff
    width = math.ceil(lowpass_filter_width * orig_freq / base_freq)
    idx_dtype = dtype if dtype is not None else torch.float64
    idx = torch.arange(-width, width + orig_freq, dtype=idx_dtype, device=device)[None, None] / orig_freq
    t = torch.arange(0, -new_freq, -1, dtype=dtype, device=device)[:, None, None] / new_freq + idx
    t *= base_freq
    t = t.clamp_(-lowpass_filter_width, lowpass_filter_width)
    if resampling_method == "sinc_interp_hann":
        window = torch.cos(t * math.pi / lowpass_filter_width / 2) ** 2
    else:
        beta_t = torch.tensor(float(beta if beta is not None else 14.769656459379492))
        window = torch.i0(beta_t * torch.sqrt(1 - (t / lowpass_filter_width) ** 2)) / torch.i0(beta_t)
    t *= math.pi
    scale = base_freq / orig_freq
    kernels = torch.where(t == 0, torch.tensor(1.0).to(t), t.sin() / t)
    kernels *= window * scale
    if dtype is None:
        kernels = kernels.to(dtype=torch.float32)
    return kernels, width


def _apply_sinc_resample_kernel(waveform, orig_freq: int, new_freq: int, gcd: int, kernel, width: int):
    import torch

    if not waveform.is_floating_point():
        raise TypeError(f"Expected floating point type for waveform tensor, but received {waveform.dtype}.")
    orig_freq = int(orig_freq) // gcd
    new_freq = int(new_freq) // gcd
    shape = waveform.size()
    waveform = waveform.reshape(-1, shape[-1])
    num_wavs, length = waveform.shape
    waveform = torch.nn.functional.pad(waveform, (width, width + orig_freq))
    resampled = torch.nn.functional.conv1d(waveform[:, None], kernel, stride=orig_freq)
    resampled = resampled.transpose(1, 2).reshape(num_wavs, -1)
    target_length = int(math.ceil(new_freq * length / orig_freq))
    resampled = resampled[..., :target_length]
    return resampled.view(shape[:-1] + resampled.shape[-1:])


def resample(waveform, orig_freq: int, new_freq: int, lowpass_filter_width: int = 6,
             rolloff: float = 0.99, resampling_method: str = "sinc_interp_hann", beta: float | None = None):
    """``torchaudio.functional.resample``: band-limited resampling of ``(..., time)`` tensors."""
    if orig_freq <= 0.0 or new_freq <= 0.0:
        raise ValueError("Original frequency and desired frequency should be positive")
    if orig_freq == new_freq:
        return waveform
    gcd = math.gcd(int(orig_freq), int(new_freq))
    kernel, width = _sinc_resample_kernel(orig_freq, new_freq, gcd, lowpass_filter_width, rolloff,
                                          resampling_method, beta, waveform.device, waveform.dtype)
    return _apply_sinc_resample_kernel(waveform, orig_freq, new_freq, gcd, kernel, width)


@functools.lru_cache(maxsize=None)
def _resample_module_class() -> type:
    """``torchaudio.transforms.Resample``, built lazily so importing this file needs no torch."""
    import torch

    class Resample(torch.nn.Module):
        """``torchaudio.transforms.Resample``: precomputes the kernel once (a persistent buffer,
        as in torchaudio, so checkpoints holding ``...resampler.kernel`` load strictly)."""

        def __init__(self, orig_freq: int = 16000, new_freq: int = 16000,
                     resampling_method: str = "sinc_interp_hann", lowpass_filter_width: int = 6,
                     rolloff: float = 0.99, beta: float | None = None, *, dtype: Any = None) -> None:
            super().__init__()
            self.orig_freq, self.new_freq = orig_freq, new_freq
            self.gcd = math.gcd(int(orig_freq), int(new_freq))
            self.resampling_method = resampling_method
            self.lowpass_filter_width, self.rolloff, self.beta = lowpass_filter_width, rolloff, beta
            if orig_freq != new_freq:
                kernel, self.width = _sinc_resample_kernel(orig_freq, new_freq, self.gcd, lowpass_filter_width,
                                                           rolloff, resampling_method, beta, dtype=dtype)
                self.register_buffer("kernel", kernel)

        def forward(self, waveform):
            if self.orig_freq == self.new_freq:
                return waveform
            return _apply_sinc_resample_kernel(waveform, self.orig_freq, self.new_freq, self.gcd,
                                               self.kernel, self.width)

    Resample.__module__ = __name__
    Resample.__qualname__ = "Resample"
    return Resample


# --- the stand-in modules --------------------------------------------------------------------


def _torch_version() -> str:
    try:
        import torch

        return torch.__version__
    except ImportError:  # pragma: no cover - coqui needs torch anyway
        return "unknown"


def _unavailable(package: str, reason: str) -> TorchaudioUnavailableError:
    if package == "torchaudio":
        hint = (f"install the torchaudio build made for your torch ({_torch_version()}; same version, "
                f"same index as torch, e.g. pip install torchaudio --index-url "
                f"https://download.pytorch.org/whl/cpu), see {TORCHAUDIO_DOCS}")
    else:
        hint = (f"install the torchcodec build made for your torch ({_torch_version()}) and FFmpeg, "
                f"see {TORCHCODEC_DOCS}")
    return TorchaudioUnavailableError(reason, hint)


def _standin(name: str, package: str, why: str, provides: dict[str, Any], offers: str) -> types.ModuleType:
    module = types.ModuleType(name, f"Stand-in for {name} ({STANDIN_ORIGIN}): provides {offers}.")
    module.__spec__ = importlib.machinery.ModuleSpec(name, loader=None, origin=STANDIN_ORIGIN, is_package=True)
    module.__path__ = []  # a package, so "import torchaudio.io" fails as a plain missing submodule
    module.__assistant_standin__ = True
    module.__dict__.update(provides)

    def __getattr__(attr: str) -> Any:
        if attr.startswith("__"):
            raise AttributeError(attr)  # interpreter/tooling probes: behave like a plain module
        raise _unavailable(package, f"{name}.{attr} is not available: {why}; this process has a "
                                    f"stand-in for it that provides {offers}")

    module.__getattr__ = __getattr__
    return module


def _torchaudio_standins(why: str) -> dict[str, types.ModuleType]:
    offers = "only transforms.Resample and functional.resample"
    functional = _standin("torchaudio.functional", "torchaudio", why, {"resample": resample}, offers)
    transforms = _standin("torchaudio.transforms", "torchaudio", why, {"Resample": _resample_module_class()}, offers)
    root = _standin("torchaudio", "torchaudio", why, {"functional": functional, "transforms": transforms}, offers)
    return {"torchaudio": root, "torchaudio.functional": functional, "torchaudio.transforms": transforms}


def is_standin(module: Any) -> bool:
    return bool(getattr(module, "__assistant_standin__", False))


def _purge(prefix: str) -> None:
    for key in [k for k in sys.modules if k == prefix or k.startswith(prefix + ".")]:
        del sys.modules[key]


def real_torchaudio_error() -> BaseException | None:
    """None when the real torchaudio imports; else why not. Tried once per process."""
    global _real_torchaudio_checked, _real_torchaudio_error
    with _lock:
        if not _real_torchaudio_checked:
            current = sys.modules.get("torchaudio")
            if current is not None and not is_standin(current):
                _real_torchaudio_error = None
            elif importlib.util.find_spec("torchaudio") is None:
                _real_torchaudio_error = ModuleNotFoundError("torchaudio is not installed")
            else:
                try:
                    importlib.import_module("torchaudio")
                    _real_torchaudio_error = None
                # OSError: its compiled library doesn't match torch; RuntimeError: its own
                # version/CUDA consistency checks; ImportError: missing symbols or modules.
                except (ImportError, OSError, RuntimeError) as error:
                    _purge("torchaudio")  # drop the half-imported package
                    _real_torchaudio_error = error
            _real_torchaudio_checked = True
        return _real_torchaudio_error


@contextlib.contextmanager
def torchaudio_standins() -> Iterator[bool]:
    """Within this block coqui-tts can import and build models; yields True if stand-ins are used.

    Re-entrant and thread-safe (one block at a time). Real packages are never replaced.
    """
    global _announced
    with _lock:
        added: dict[str, types.ModuleType] = {}
        error = real_torchaudio_error()
        if error is not None and "torchaudio" not in sys.modules:
            why = f"real torchaudio could not be loaded ({type(error).__name__}: {error})"
            log.log(logging.DEBUG if _announced else logging.INFO,
                    "%s; coqui-tts runs with a pure-torch stand-in that provides only "
                    "transforms.Resample and functional.resample (enough for VITS-type voices)", why)
            _announced = True
            added.update(_torchaudio_standins(why))
        if "torchcodec" not in sys.modules and importlib.util.find_spec("torchcodec") is None:
            log.debug("torchcodec is not installed; a stand-in satisfies coqui-tts's import check")
            added["torchcodec"] = _standin("torchcodec", "torchcodec", "torchcodec is not installed", {},
                                         "nothing (it only satisfies coqui-tts's import check)")
        sys.modules.update(added)
        try:
            yield bool(added)
        finally:
            for name, module in added.items():
                if sys.modules.get(name) is module:
                    del sys.modules[name]


def import_tts() -> type:
    """``TTS.api.TTS`` (the coqui-tts class), imported with the stand-ins when needed."""
    with torchaudio_standins():
        if "TTS" not in sys.modules:
            # A failed earlier "import TTS" leaves TTS.utils.import_utils behind with its
            # lru-cached "torchaudio is missing" answers: clear them so this import re-checks.
            stale = sys.modules.get("TTS.utils.import_utils")
            for name in ("is_torchaudio_available", "is_torchcodec_available"):
                getattr(getattr(stale, name, None), "cache_clear", lambda: None)()
        try:
            from TTS.api import TTS
        except ImportError as error:
            if importlib.util.find_spec("TTS") is None:
                raise MissingDependencyError(
                    "the coqui TTS backend needs the coqui-tts package, which is not installed",
                    "pip install coqui-tts (see docs/models.md)",
                ) from error
            missing = getattr(error, "name", None)  # e.g. "six", which coqui-tts uses but doesn't declare
            hint = f"pip install {missing}" if isinstance(error, ModuleNotFoundError) and missing \
                else "see the coqui-tts install notes in docs/models.md"
            raise MissingDependencyError(f"coqui-tts could not be imported: {error}", hint) from error
    return TTS
