"""Audio files in and out.

Reading: any format ffmpeg decodes (wav, flac, mp3, ogg/opus, m4a, ...; any rate, any channel
count) becomes float32 mono at the rate the caller asks for, decoded by one ffmpeg process.
Writing: wav directly; mp3, ogg, opus and flac through pydub (ffmpeg).
"""

from __future__ import annotations

import shutil
import subprocess
import wave
from pathlib import Path

import numpy as np

from assistant.errors import AudioFileError, MissingDependencyError
from assistant.paths import atomic_output, check_extension, check_input
from assistant.types import AudioChunk

OUTPUT_FORMATS = ("wav", "mp3", "ogg", "opus", "flac")


def _ffmpeg() -> str:
    exe = shutil.which("ffmpeg")
    if exe is None:
        raise MissingDependencyError(
            "ffmpeg is not installed; it is needed to read and write audio files",
            "install it with: apt-get install ffmpeg (macOS: brew install ffmpeg)",
        )
    return exe


def load_audio(path: str | Path, sample_rate: int = 16000) -> AudioChunk:
    """Decode ``path`` to float32 mono at ``sample_rate``. Raises AudioFileError with a clear reason."""
    p = check_input(path)
    cmd = [_ffmpeg(), "-nostdin", "-hide_banner", "-v", "error", "-xerror", "-i", str(p),
           "-vn", "-f", "f32le", "-acodec", "pcm_f32le", "-ac", "1", "-ar", str(sample_rate), "-"]
    proc = subprocess.run(cmd, capture_output=True)
    errors = proc.stderr.decode("utf-8", "replace").strip()
    if proc.returncode != 0 or errors:
        reason = errors.splitlines()[-1] if errors else f"ffmpeg exited with {proc.returncode}"
        # ffmpeg prefixes messages with the path; keep the reason short
        reason = reason.replace(str(p) + ": ", "")
        if "does not contain any stream" in reason or "matches no streams" in reason:
            raise AudioFileError(f"{p} has no audio track (a video without sound, or an image?)",
                                 "choose a file with sound in it")
        raise AudioFileError(
            f"cannot read audio from {p}: it is corrupt, truncated or not audio ({reason})",
            "use a wav, flac, mp3, ogg/opus or m4a file",
        )
    samples = np.frombuffer(proc.stdout, dtype=np.float32).copy()
    check_finite(samples, f"audio from {p}")
    return AudioChunk(samples, sample_rate)


def check_finite(samples: np.ndarray, what: str) -> None:
    """Float files can hold NaN or infinite values (a broken export or effect); no stage can use
    them, and they are not silence. Say so rather than answer garbage or call it silent."""
    bad = ~np.isfinite(samples)
    if bad.any():
        raise AudioFileError(
            f"{what} holds {int(bad.sum())} NaN or infinite sample values (of {len(samples)}): "
            "the file is corrupt", "export the recording again (e.g. as 16-bit wav)")


def _pcm16(samples: np.ndarray) -> bytes:
    return (np.clip(samples, -1.0, 1.0) * 32767.0).astype("<i2").tobytes()


def output_format(path: str | Path) -> str:
    return check_extension(path, OUTPUT_FORMATS)


def save_audio(audio: AudioChunk, path: str | Path) -> Path:
    """Write ``audio`` to ``path``; the format follows the extension (wav, mp3, ogg, opus, flac).
    Atomic: the file appears complete or not at all (an old file stays until the new one is whole)."""
    p = Path(path)
    fmt = output_format(p)
    if p.parent and not p.parent.exists():
        raise AudioFileError(f"cannot write {p}: folder {p.parent} does not exist")
    try:
        with atomic_output(p) as tmp:
            _encode(audio, tmp, fmt)
    except AudioFileError:
        raise
    except OSError as e:
        raise AudioFileError(f"cannot write {p}: {e.strerror or e}") from None
    except Exception as e:  # pydub wraps ffmpeg failures in its own exception types
        raise AudioFileError(f"cannot encode {p} as {fmt}: {str(e).splitlines()[0] if str(e) else type(e).__name__}") from None
    return p


def _encode(audio: AudioChunk, p: Path, fmt: str) -> None:
    if fmt == "wav":
        p.write_bytes(wav_bytes(audio))
        return
    _ffmpeg()
    from pydub import AudioSegment

    seg = AudioSegment(_pcm16(audio.samples), sample_width=2, frame_rate=audio.sample_rate, channels=1)
    if fmt == "opus":
        seg.set_frame_rate(48000).export(str(p), format="opus", codec="libopus")
    elif fmt == "ogg":
        seg.export(str(p), format="ogg", codec="libvorbis")
    else:
        seg.export(str(p), format=fmt)


def wav_bytes(audio: AudioChunk) -> bytes:
    """``audio`` as a 16-bit mono WAV file in memory (what HTTP APIs take as an upload)."""
    import io

    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(audio.sample_rate)
        w.writeframes(_pcm16(audio.samples))
    return buffer.getvalue()


def decode_bytes(data: bytes, sample_rate: int, what: str = "audio") -> AudioChunk:
    """Decode an encoded file held in memory (mp3, opus, flac, aac, wav, ...) to float32 mono at
    ``sample_rate`` with one ffmpeg process; ``what`` names the data in the error message."""
    if not data:
        raise AudioFileError(f"{what} is empty (0 bytes)")
    cmd = [_ffmpeg(), "-nostdin", "-hide_banner", "-v", "error", "-i", "pipe:0",
           "-vn", "-f", "f32le", "-acodec", "pcm_f32le", "-ac", "1", "-ar", str(sample_rate), "pipe:1"]
    proc = subprocess.run(cmd, input=data, capture_output=True)
    samples = np.frombuffer(proc.stdout, dtype=np.float32).copy()
    if proc.returncode != 0 or not len(samples):
        errors = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        reason = errors[-1] if errors else f"ffmpeg exited with {proc.returncode}"
        raise AudioFileError(f"cannot decode {what}: it is corrupt, truncated or not audio ({reason})")
    check_finite(samples, what)
    return AudioChunk(samples, sample_rate)
