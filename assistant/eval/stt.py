"""``assistant eval stt DIR``: the configured STT on every recording in DIR that has a reference
transcript beside it (``clip.ogg`` + ``clip.txt``), scored per language.

The true language of a clip comes from ``DIR/manifest.json`` (``{"clip.ogg": "de", ...}``) when
it names the clip, else from its file name: the first ``-``/``_``/``.``-separated part that is a
Whisper language code (``fleurs-de-000.ogg`` → de). A clip with no known language still counts
for WER; language ID is scored only on clips whose language is known and only when the
configured STT detects the language (``stt.language: auto``).

Time is the STT call alone (language detection + decoding), after the model is loaded and the
audio decoded; the real-time factor is that time over the audio's duration.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

from assistant.core.errors import AudioFileError
from assistant.eval.wer import WordErrors, word_errors
from assistant.language.names import WHISPER_LANGUAGES

AUDIO_SUFFIXES = (".ogg", ".opus", ".wav", ".flac", ".mp3", ".m4a", ".webm")
MANIFEST = "manifest.json"


@dataclass(frozen=True)
class Clip:
    audio: Path
    reference: str
    language: str | None  # the true language, when known


@dataclass
class ClipResult:
    file: str
    language: str | None
    detected: str
    probability: float | None
    reference: str
    hypothesis: str
    errors: WordErrors
    audio_s: float
    stt_s: float

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["errors"] = asdict(self.errors)
        d["wer"] = self.errors.wer
        return d


@dataclass
class Summary:
    """Scores of one group of clips (a language, or all of them)."""

    clips: int = 0
    errors: WordErrors = field(default_factory=WordErrors)
    lid_scored: int = 0
    lid_correct: int = 0
    probabilities: list[float] = field(default_factory=list)
    audio_s: float = 0.0
    stt_s: float = 0.0

    def add(self, r: ClipResult) -> None:
        self.clips += 1
        self.errors = self.errors + r.errors
        if r.language is not None and r.probability is not None:
            self.lid_scored += 1
            self.lid_correct += int(r.detected == r.language)
        if r.probability is not None:
            self.probabilities.append(r.probability)
        self.audio_s += r.audio_s
        self.stt_s += r.stt_s

    def to_dict(self) -> dict[str, Any]:
        return {
            "clips": self.clips, "wer": self.errors.wer, "errors": asdict(self.errors),
            "lid_correct": self.lid_correct if self.lid_scored else None,
            "lid_scored": self.lid_scored,
            "lid_accuracy": self.lid_correct / self.lid_scored if self.lid_scored else None,
            "mean_probability": (sum(self.probabilities) / len(self.probabilities)) if self.probabilities else None,
            "audio_s": round(self.audio_s, 3), "stt_s": round(self.stt_s, 3),
            "rtf": self.stt_s / self.audio_s if self.audio_s else None,
            "s_per_clip": self.stt_s / self.clips if self.clips else None,
        }


def language_from_name(name: str) -> str | None:
    for part in re.split(r"[-_.]", Path(name).stem.lower()):
        if part in WHISPER_LANGUAGES:
            return part
    return None


def find_clips(directory: str | Path) -> list[Clip]:
    """Every audio file in ``directory`` with a non-empty ``.txt`` beside it, sorted by name."""
    d = Path(directory).expanduser()
    if not d.is_dir():
        raise AudioFileError(f"{d} is not a directory",
                             "give a folder of recordings, each with its transcript beside it: clip.ogg + clip.txt")
    manifest: dict[str, str] = {}
    if (d / MANIFEST).is_file():
        try:
            manifest = {str(k): str(v) for k, v in json.loads((d / MANIFEST).read_text(encoding="utf-8")).items()}
        except (ValueError, AttributeError) as e:
            raise AudioFileError(f"{d / MANIFEST} is not a JSON object of file name → language code ({e})") from None
        unknown = sorted({v for v in manifest.values() if v not in WHISPER_LANGUAGES})
        if unknown:
            raise AudioFileError(f"{d / MANIFEST} names unknown language codes: {', '.join(unknown)}",
                                 "use Whisper's codes (en, de, ...); `assistant languages` lists them")
    clips = []
    for audio in sorted(p for p in d.iterdir() if p.suffix.lower() in AUDIO_SUFFIXES and p.is_file()):
        text = audio.with_suffix(".txt")
        if not text.is_file():
            continue
        reference = text.read_text(encoding="utf-8").strip()
        if reference:
            clips.append(Clip(audio, reference, manifest.get(audio.name) or language_from_name(audio.name)))
    if not clips:
        raise AudioFileError(f"no recording in {d} has a reference transcript beside it",
                             "put clip.txt, the words spoken, next to each clip.ogg/.wav/.flac")
    return clips


def evaluate_clip(stt: Any, clip: Clip) -> ClipResult:
    from assistant.audio.io import load_audio

    audio = load_audio(clip.audio, stt.sample_rate)
    t0 = time.perf_counter()
    transcript = stt.transcribe(audio)
    seconds = time.perf_counter() - t0
    return ClipResult(clip.audio.name, clip.language, transcript.language, transcript.language_probability,
                      clip.reference, transcript.text, word_errors(clip.reference, transcript.text),
                      audio.duration, seconds)


def evaluate(stt: Any, clips: list[Clip], on_clip: Callable[[ClipResult], None] | None = None) -> dict[str, Any]:
    """Run ``stt`` (loaded on first use) on every clip; per-language and overall scores."""
    t0 = time.perf_counter()
    stt.load()
    load_s = time.perf_counter() - t0
    results = []
    for clip in clips:
        results.append(evaluate_clip(stt, clip))
        if on_clip:
            on_clip(results[-1])
    groups: dict[str, Summary] = {}
    overall = Summary()
    for r in results:
        groups.setdefault(r.language or "?", Summary()).add(r)
        overall.add(r)
    return {"load_s": round(load_s, 3),
            "languages": {k: groups[k].to_dict() for k in sorted(groups)},
            "overall": overall.to_dict(),
            "clips": [r.to_dict() for r in results]}
