"""STT benchmark: openai-whisper vs faster-whisper on the same weights, audio and token count.

Like for like:
- one random checkpoint per size (one seed) → the same weights in every backend
  (openai .pt → transformers → CTranslate2, ``assistant.bench.models.convert``);
- models load through the backends' own ``load()``; each run is what the backends'
  ``transcribe()`` does (language detection, then decoding), on the libraries the backends use;
- greedy decoding, and exactly ``tokens`` decoded per 30 s window: random weights never emit
  end-of-text, so it is suppressed, and timestamps are off so each window is decoded once. Token
  counts are recorded from the decoders themselves and checked.

Where the time goes: each backend's encoder pass over one 30 s window is also timed on its own,
and the rest of a pass is divided by the decoded tokens. The encoder is a fixed cost per window
(always 30 s of audio, however short the clip) and is most of a short utterance's time.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assistant.bench.common import Settings, cached, stats, sync
from assistant.core.types import AudioChunk

EOT = 50257  # <|endoftext|> in the multilingual vocabulary (the only one the benchmark builds)


@dataclass(frozen=True)
class SttSpec:
    name: str  # row label
    backend: str  # registry name
    compute: str  # fp32/fp16 (whisper) or a CTranslate2 compute_type
    exact_detection: bool = False  # faster-whisper: detect like openai-whisper (one more encoder pass)


def specs(device: str) -> list[SttSpec]:
    """The reference first; then faster-whisper as configured by default (``auto`` compute type,
    language detection sharing the encoder pass), the same with openai-whisper's exact detection
    (the same encoder work as the reference), and the exact float type."""
    if device == "cuda":
        return [SttSpec("whisper fp16", "whisper", "fp16"),
                SttSpec("faster-whisper float16", "faster-whisper", "float16"),
                SttSpec("faster-whisper float16, exact detection", "faster-whisper", "float16", True),
                SttSpec("faster-whisper int8_float16", "faster-whisper", "int8_float16")]
    return [SttSpec("whisper fp32", "whisper", "fp32"),
            SttSpec("faster-whisper int8", "faster-whisper", "int8"),
            SttSpec("faster-whisper int8, exact detection", "faster-whisper", "int8", True),
            SttSpec("faster-whisper float32", "faster-whisper", "float32")]


def build_models(size: str, settings: Settings) -> tuple[Path, Path]:
    """The openai checkpoint and its CTranslate2 conversion (float32 storage; compute types
    convert at load time, as with the published float16 repositories)."""
    from assistant.bench.models.convert import convert_whisper_checkpoint
    from assistant.bench.models.whisper import build_whisper_checkpoint

    stem = f"whisper-{size}-seed{settings.seed}"
    ckpt = cached(settings.work_dir / f"{stem}.pt",
                  lambda p: build_whisper_checkpoint(p, size=size, seed=settings.seed))
    ct2 = cached(settings.work_dir / f"{stem}-ct2", lambda p: convert_whisper_checkpoint(ckpt, p))
    return ckpt, ct2


class _DecodeRecorder:
    """Stands in for the openai model inside ``whisper.transcribe`` and keeps every decoded sequence."""

    def __init__(self, model: Any) -> None:
        self._model = model
        self.sequences: list[list[int]] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._model, name)

    def decode(self, mel: Any, options: Any) -> Any:
        result = self._model.decode(mel, options)
        for r in result if isinstance(result, list) else [result]:
            self.sequences.append(list(r.tokens))
        return result


class Runner:
    """One loaded backend; ``run(audio)`` → (decoded sequences, text)."""

    def __init__(self, spec: SttSpec, model_path: Path, settings: Settings) -> None:
        self.spec, self.tokens, self.beam_size = spec, settings.stt_tokens, settings.beam_size
        common = dict(model=str(model_path), device=settings.device, temperature=0.0,
                      beam_size=settings.beam_size if settings.beam_size > 1 else None,
                      sample_len=settings.stt_tokens,
                      audio_ctx="full")  # the table compares backends on whole 30 s windows
        if spec.backend == "whisper":
            from assistant.stt.whisper import WhisperOptions, WhisperSTT

            self.stt: Any = WhisperSTT(WhisperOptions(fp16=spec.compute == "fp16", **common))
        else:
            from assistant.stt.faster_whisper import FasterWhisperOptions, FasterWhisperSTT

            self.stt = FasterWhisperSTT(FasterWhisperOptions(compute_type=spec.compute,
                                                             exact_detection=spec.exact_detection, **common))
        t0 = time.perf_counter()
        self.stt.load()
        self.load_s = time.perf_counter() - t0

    def run(self, audio: AudioChunk) -> tuple[list[list[int]], str]:
        """Detect the language, then decode: the steps of the backend's ``transcribe()``."""
        fixed = dict(without_timestamps=True, suppress_tokens=[-1, EOT], condition_on_previous_text=False,
                     no_speech_threshold=None, compression_ratio_threshold=None)
        if self.spec.backend == "whisper":
            import whisper

            language = next(iter(self.stt.detect_language(audio)))
            recorder = _DecodeRecorder(self.stt._model)
            result = whisper.transcribe(recorder, audio.samples, language=language, temperature=0.0,
                                        sample_len=self.tokens, beam_size=self.stt.options.beam_size,
                                        fp16=self.stt.fp16, logprob_threshold=None, verbose=None, **fixed)
            sync(self.stt.device)
            return recorder.sequences, result["text"].strip()
        probs, encoded = self.stt.detect(audio.samples)
        segments, probe = self.stt.run(audio.samples, language=next(iter(probs)), encoded=encoded,
                                       beam_size=self.beam_size, temperature=[0.0], max_new_tokens=self.tokens,
                                       log_prob_threshold=None, vad_filter=False, initial_prompt=None, **fixed)
        return probe.sequences, "".join(s.text for s in segments).strip()

    @property
    def encoder_passes(self) -> int:
        """Encoder passes per window: language detection and decoding each encode, unless the
        detection's pass is reused (faster-whisper without exact detection)."""
        return 1 if self.spec.backend == "faster-whisper" and not self.spec.exact_detection else 2

    def encode_once(self, audio: AudioChunk) -> float:
        """Seconds for one encoder pass over the first window of ``audio`` (log-mel included)."""
        t = time.perf_counter()
        if self.spec.backend == "whisper":
            import torch

            with torch.no_grad():
                self.stt._model.embed_audio(self.stt._mel(audio.samples)[None])
            sync(self.stt.device)
        else:
            self.stt._model.encode(self.stt._first_window(audio.samples))
        return time.perf_counter() - t


def _windows(audio: AudioChunk) -> int:
    return max(1, -(-len(audio.samples) // (30 * 16000)))


def bench_size(size: str, clips: list[tuple[str, AudioChunk]], settings: Settings, log: Any) -> dict[str, Any]:
    """All backends loaded side by side and timed in turns (a pass over every clip each), so a
    slow spell on a shared machine hits every backend alike instead of one backend's block."""
    t0 = time.perf_counter()
    ckpt, ct2 = build_models(size, settings)
    prepare_s = time.perf_counter() - t0
    runners = []
    for spec in specs(settings.device):
        log(f"stt {size}: loading {spec.name}")
        runners.append(Runner(spec, ckpt if spec.backend == "whisper" else ct2, settings))
    log(f"stt {size}: {settings.warmup} warm-up + {settings.repeat} timed passes per backend")
    for runner in runners:
        for _ in range(settings.warmup):
            for _, audio in clips:
                runner.run(audio)
    passes: list[list[float]] = [[] for _ in runners]
    outputs: list[dict[str, tuple[list[list[int]], str]]] = [{} for _ in runners]
    for _ in range(settings.repeat):
        for i, runner in enumerate(runners):
            t = time.perf_counter()
            outputs[i] = {name: runner.run(audio) for name, audio in clips}
            passes[i].append(time.perf_counter() - t)

    encoder = [[runner.encode_once(clips[0][1]) for _ in range(max(settings.repeat, 1))] for runner in runners]

    total_audio = sum(a.duration for _, a in clips)
    windows = sum(_windows(a) for _, a in clips)
    expected = settings.stt_tokens * windows
    rows = [_row(runner, passes[i], outputs[i], total_audio, expected) for i, runner in enumerate(runners)]
    for row, runner, times, enc in zip(rows, runners, passes, encoder):
        row["breakdown"] = _breakdown(runner.encoder_passes * windows, stats(enc), stats(times),
                                      row["tokens"]["decoded"])
    reference = {name: seqs for name, (seqs, _) in outputs[0].items()}
    for row, times, out in zip(rows, passes, outputs):
        row.update(_compare({name: seqs for name, (seqs, _) in out.items()}, reference, times, passes[0]))
    return {"size": size, "tokens_per_window": settings.stt_tokens, "beam_size": settings.beam_size,
            "audio_seconds": round(total_audio, 3), "prepare_s": round(prepare_s, 2),
            "reference": rows[0]["name"], "backends": rows}


def _row(runner: Runner, times: list[float], outputs: dict[str, tuple[list[list[int]], str]],
         total_audio: float, expected: int) -> dict[str, Any]:
    decoded = sum(len(s) for seqs, _ in outputs.values() for s in seqs)
    return {"name": runner.spec.name, "backend": runner.spec.backend, "compute": runner.spec.compute,
            "exact_detection": runner.spec.exact_detection if runner.spec.backend != "whisper" else True,
            "device": runner.stt.device, "load_s": round(runner.load_s, 3), "runs": len(times),
            "wall_s": stats(times), "rtf": stats([t / total_audio for t in times]),
            "tokens": {"decoded": decoded, "expected": expected, "match": decoded == expected},
            "texts": {name: text for name, (_, text) in outputs.items()}}


def _breakdown(passes: int, encoder: dict[str, float], wall: dict[str, float], tokens: int) -> dict[str, Any]:
    """A pass split into encoder work and the rest (decoding, detection, log-mel), from medians."""
    encoder_s = passes * encoder["median"]
    rest = max(wall["median"] - encoder_s, 0.0)
    return {"encoder_passes": passes, "encoder_pass_s": encoder, "encoder_share": round(encoder_s / wall["median"], 3),
            "rest_ms_per_token": round(1000 * rest / tokens, 2) if tokens else None}


def _compare(sequences: dict[str, list[list[int]]], reference: dict[str, list[list[int]]],
             times: list[float], reference_times: list[float]) -> dict[str, Any]:
    """Speed-up against the reference (ratio of medians, as asked; of the best passes; and the
    median of the per-turn ratios), and how far the tokens agree with the reference's."""
    same = sum(x == y for name, seqs in reference.items() for a, b in zip(seqs, sequences.get(name, []))
               for x, y in zip(a, b))
    total = sum(len(s) for seqs in reference.values() for s in seqs)
    ref, own = stats(reference_times), stats(times)
    paired = stats([r / t for r, t in zip(reference_times, times)])
    return {"speedup": round(ref["median"] / own["median"], 2), "speedup_best": round(ref["min"] / own["min"], 2),
            "speedup_paired": paired, "same_tokens_as_reference": sequences == reference,
            "token_agreement": round(same / total, 3) if total else None}


def run(settings: Settings, clips: list[tuple[str, AudioChunk]], log: Any) -> dict[str, Any]:
    return {"audio": [{"name": n, "seconds": round(a.duration, 3)} for n, a in clips],
            "sizes": [bench_size(size, clips, settings, log) for size in settings.sizes]}
