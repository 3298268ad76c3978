"""Where faster-whisper's time goes on this CPU: one encoder pass and one greedy decode of
CTranslate2, summed per oneDNN matrix operation.

    python scripts/profile_ct2.py [--size base] [--compute-type int8] [--tokens 48]

CTranslate2 hands its matrix products on CPU to oneDNN (to Intel MKL instead on Intel CPUs).
With ONEDNN_VERBOSE=1 oneDNN prints every call's shape and time; this script runs the
benchmark's random-weight model (``assistant bench`` builds and caches it) in a child process
with that switch on, and sums the times per operation and shape. For the base size:

- ``1500x64:64x1500`` and ``1500x1500:1500x64``: encoder self-attention, float32 at every
  compute type (one call per head and layer);
- ``1500x512:512x…``: the encoder's linear layers (int8 at ``compute_type: int8``);
- ``1x512:512x51865``: the vocabulary projection of each decoded token; ``1x64:64x1500`` and
  ``1x1500:1500x64``: cross-attention of each token, per head and layer.

What oneDNN does not cover (layer norms, softmax, GELU, quantising activations, Python) is the
difference between a pass's wall time and the oneDNN sum. MKL is switched off in the child so
the profile always goes through oneDNN (the path CTranslate2 takes on non-Intel CPUs); run it
as ``CT2_USE_MKL=1 python scripts/profile_ct2.py`` to time the MKL path instead (wall times only).
Other CTranslate2/oneDNN variables (``CT2_FORCE_CPU_ISA``, ``OMP_WAIT_POLICY``) pass through too.
"""

from __future__ import annotations

import argparse
import collections
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PROMPT = [50258, 50259, 50359, 50363]  # <|startoftranscript|><|en|><|transcribe|><|notimestamps|>


def child(model_dir: str, compute_type: str, threads: int, tokens: int) -> None:
    """Runs with ONEDNN_VERBOSE=1: warm up, then one marked encoder pass and one marked decode."""
    import ctranslate2
    import numpy as np

    from assistant.bench.stt import EOT
    from assistant.stt.faster_whisper import ct2_max_length

    model = ctranslate2.models.Whisper(model_dir, device="cpu", compute_type=compute_type, intra_threads=threads)
    rng = np.random.default_rng(0)
    features = ctranslate2.StorageView.from_array(rng.standard_normal((1, model.n_mels, 3000), np.float32))

    def decode(encoded):
        # random weights never end on their own: end-of-text is suppressed, so exactly ``tokens`` come out
        return model.generate(encoded, [PROMPT], beam_size=1, suppress_tokens=[-1, EOT],
                              max_length=ct2_max_length(len(PROMPT), tokens))

    decode(model.encode(features))  # warm-up: allocate every buffer
    for name, run in (("encoder pass", lambda: model.encode(features)),
                      (f"greedy decode, {tokens} tokens", lambda: decode(encoded))):  # noqa: B023 (called at once, in this iteration)
        print(f"@@start {name}", flush=True)
        t = time.perf_counter()
        out = run()
        print(f"@@end {time.perf_counter() - t:.6f}", flush=True)
        if name == "encoder pass":
            encoded = out
        elif len(out[0].sequences_ids[0]) != tokens:
            raise SystemExit(f"decoded {len(out[0].sequences_ids[0])} tokens, not {tokens}")


def summarise(lines: list[str]) -> list[tuple[str, float, dict[tuple[str, str], list[float]]]]:
    """[(pass name, wall seconds, {(operation, shape): [ms per call]})] from the child's output."""
    passes, name, ops = [], None, collections.defaultdict(list)
    for line in lines:
        if line.startswith("@@start "):
            name, ops = line[len("@@start "):], collections.defaultdict(list)
        elif line.startswith("@@end ") and name is not None:
            passes.append((name, float(line.split()[1]), ops))
            name = None
        elif name is not None and line.startswith("onednn_verbose") and ",exec," in line:
            fields = line.split(",")
            kind = fields[fields.index("exec") + 2]
            try:
                ops[(kind, fields[-2])].append(float(fields[-1]))
            except ValueError:
                continue
    return passes


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--size", default="base", help="whisper architecture: test, tiny, base, small (default base)")
    p.add_argument("--compute-type", default="int8", help="CTranslate2 compute type on CPU (default int8)")
    p.add_argument("--tokens", type=int, default=48, help="greedy tokens to decode (default 48)")
    p.add_argument("--threads", type=int, default=len(os.sched_getaffinity(0)), help="CPU threads")
    p.add_argument("--top", type=int, default=8, help="rows per pass (default 8)")
    p.add_argument("--work-dir", type=Path, help="model cache (default: the benchmark's)")
    p.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        child(args.child[0], args.child[1], int(args.child[2]), int(args.child[3]))
        return 0

    from assistant.bench.common import Settings
    from assistant.bench.stt import build_models

    settings = Settings(**({"work_dir": args.work_dir} if args.work_dir else {}))
    print(f"building/loading the random-weight {args.size} model in {settings.work_dir} …", file=sys.stderr)
    _, ct2 = build_models(args.size, settings)
    env = {"CT2_USE_MKL": "0", **os.environ, "ONEDNN_VERBOSE": "1"}  # CT2_USE_MKL=1 ... compares MKL
    proc = subprocess.run([sys.executable, __file__, "--child", str(ct2), args.compute_type, str(args.threads),
                           str(args.tokens)], env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        print(f"error: the profiling run failed:\n{proc.stderr.strip()[-2000:]}", file=sys.stderr)
        return 1
    passes = summarise(proc.stdout.splitlines())
    print(f"CTranslate2, whisper {args.size}, {args.compute_type}, {args.threads} threads "
          f"(times from ONEDNN_VERBOSE, which adds a little to each call)")
    for name, wall, ops in passes:
        covered = sum(sum(v) for v in ops.values())
        print(f"\n{name}: {1000 * wall:.1f} ms wall, {covered:.1f} ms in oneDNN")
        print(f"  {'ms':>8} {'share':>6} {'calls':>6}  operation  shape")
        for (kind, shape), times in sorted(ops.items(), key=lambda kv: -sum(kv[1]))[: args.top]:
            total = sum(times)
            print(f"  {total:8.1f} {100 * total / (1000 * wall):5.0f}% {len(times):6d}  {kind}  {shape}")
        if not ops:
            print("  no oneDNN calls recorded (this CTranslate2 build does not use oneDNN here)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
