"""CTranslate2 Whisper (faster-whisper's ``model.bin``) → openai-whisper checkpoint, without ctranslate2.

CTranslate2's ``model.bin`` is a simple binary (``ctranslate2/specs/model_spec.py``,
``_serialize``), all integers little-endian:

    u32 binary version (5 or 6) · string spec name · u32 spec revision · u32 variable count
    per variable: string name · u8 rank · u32 × rank shape · u8 dtype · u32 byte count · bytes
    u32 alias count · per alias: string alias · string variable it names

where a string is ``u16 length (with the NUL)`` + UTF-8 + NUL, and dtype indexes
``(float32, int8, int16, int32, float16, bfloat16)``. Quantized weights carry a
``weight_scale`` beside them (value = stored / scale, per output row).

The Whisper spec fuses what openai-whisper keeps apart: self-attention q/k/v in
``self_attention/linear_0`` (the key has no bias in Whisper; CTranslate2 stores zeros there),
cross-attention k/v in ``attention/linear_1``; the output projection is an alias of the token
embedding, as in Whisper itself. The checkpoint written is ``{"dims", "model_state_dict"}``,
what ``whisper.load_model(path)`` reads; weights keep their stored precision (float16 stays
float16, as in OpenAI's own checkpoints; the loader casts to the model's dtype), quantized ones
are dequantized to float32.
"""

from __future__ import annotations

import os
import struct
import sys
import tempfile
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from assistant.core.errors import ModelNotFoundError

_DTYPES = ("float32", "int8", "int16", "int32", "float16", "bfloat16")
_FUSED_QKV = ("query", "key", "value")


class _Reader:
    def __init__(self, f: BinaryIO, path: Path) -> None:
        self.f, self.path = f, path

    def take(self, n: int) -> bytes:
        data = self.f.read(n)
        if len(data) != n:
            raise ModelNotFoundError(f"{self.path} is truncated (wanted {n} more bytes)",
                                     "the model file is incomplete: download or install it again")
        return data

    def u(self, fmt: str) -> int:
        return struct.unpack("<" + fmt, self.take(struct.calcsize(fmt)))[0]

    def string(self) -> str:
        return self.take(self.u("H"))[:-1].decode("utf-8")


def _array(raw: bytes, dtype: str, shape: list[int]) -> np.ndarray:
    if dtype == "bfloat16":  # numpy has none: the upper half of a float32
        return (np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16).view(np.float32).reshape(shape)
    return np.frombuffer(raw, dtype=np.dtype(dtype).newbyteorder("<")).reshape(shape)


def read_ct2_model(path: str | Path) -> tuple[str, dict[str, np.ndarray]]:
    """The spec name and every variable of a CTranslate2 ``model.bin`` (aliases resolved)."""
    path = Path(path)
    if not path.is_file():
        raise ModelNotFoundError(f"no CTranslate2 model at {path}", "give the model directory that holds model.bin")
    with path.open("rb") as f:
        r = _Reader(f, path)
        version = r.u("I")
        if version not in (5, 6):
            raise ModelNotFoundError(f"{path} is not a CTranslate2 model of a known version (binary version {version})",
                                     "convert it with a CTranslate2 release from 3.x on")
        spec = r.string()
        r.u("I")  # spec revision
        variables: dict[str, np.ndarray] = {}
        for _ in range(r.u("I")):
            name = r.string()
            shape = [r.u("I") for _ in range(r.u("B"))]
            type_id = r.u("B")
            if type_id >= len(_DTYPES):
                raise ModelNotFoundError(f"{path}: variable {name} has an unknown type id {type_id}")
            variables[name] = _array(r.take(r.u("I")), _DTYPES[type_id], shape)
        for _ in range(r.u("I")):
            alias, target = r.string(), r.string()
            variables[alias] = variables[target]
    return spec, variables


def _float(variables: dict[str, np.ndarray], name: str) -> np.ndarray:
    """A weight as a float array, dequantized when it was stored with a scale."""
    value = variables[name]
    scale = variables.get(name + "_scale") if name.endswith("weight") else None
    if scale is not None:
        scale = scale.astype(np.float32)
        per_row = scale.reshape((-1,) + (1,) * (value.ndim - 1)) if scale.ndim else scale
        return (value.astype(np.float32) / per_row).astype(np.float32)
    return value if value.dtype in (np.float16, np.float32) else value.astype(np.float32)


def _scalar(variables: dict[str, np.ndarray], name: str) -> int:
    return int(np.asarray(variables[name]).reshape(-1)[0])


def _layers(variables: dict[str, np.ndarray], prefix: str) -> int:
    n = 0
    while f"{prefix}/layer_{n}/ffn/linear_0/weight" in variables:
        n += 1
    return n


def ct2_state_dict(variables: dict[str, np.ndarray]) -> tuple[dict[str, int], dict[str, Any]]:
    """openai-whisper ``dims`` and ``model_state_dict`` (torch tensors) from CTranslate2 Whisper variables."""
    import torch

    state: dict[str, np.ndarray] = {}

    def put(dst: str, src: str) -> None:
        state[dst] = _float(variables, src)

    def linear(dst: str, src: str, bias: bool = True) -> None:
        put(dst + ".weight", src + "/weight")
        if bias:
            put(dst + ".bias", src + "/bias")

    def norm(dst: str, src: str) -> None:
        put(dst + ".weight", src + "/gamma")
        put(dst + ".bias", src + "/beta")

    def fused(dst: str, src: str, names: tuple[str, ...]) -> None:
        weights = np.split(_float(variables, src + "/weight"), len(names))
        biases = np.split(_float(variables, src + "/bias"), len(names))
        for name, w, b in zip(names, weights, biases):
            state[f"{dst}.{name}.weight"] = w
            if name != "key":  # Whisper's key projection has no bias (CTranslate2 stores zeros)
                state[f"{dst}.{name}.bias"] = b

    for side, n in (("encoder", _layers(variables, "encoder")), ("decoder", _layers(variables, "decoder"))):
        for i in range(n):
            src, dst = f"{side}/layer_{i}", f"{side}.blocks.{i}"
            norm(dst + ".attn_ln", src + "/self_attention/layer_norm")
            fused(dst + ".attn", src + "/self_attention/linear_0", _FUSED_QKV)
            linear(dst + ".attn.out", src + "/self_attention/linear_1")
            if side == "decoder":
                norm(dst + ".cross_attn_ln", src + "/attention/layer_norm")
                linear(dst + ".cross_attn.query", src + "/attention/linear_0")
                fused(dst + ".cross_attn", src + "/attention/linear_1", ("key", "value"))
                linear(dst + ".cross_attn.out", src + "/attention/linear_2")
            norm(dst + ".mlp_ln", src + "/ffn/layer_norm")
            linear(dst + ".mlp.0", src + "/ffn/linear_0")
            linear(dst + ".mlp.2", src + "/ffn/linear_1")
    linear("encoder.conv1", "encoder/conv1")
    linear("encoder.conv2", "encoder/conv2")
    put("encoder.positional_embedding", "encoder/position_encodings/encodings")
    norm("encoder.ln_post", "encoder/layer_norm")
    put("decoder.token_embedding.weight", "decoder/embeddings/weight")
    put("decoder.positional_embedding", "decoder/position_encodings/encodings")
    norm("decoder.ln", "decoder/layer_norm")

    n_vocab, n_text_state = state["decoder.token_embedding.weight"].shape
    dims = {
        "n_mels": int(state["encoder.conv1.weight"].shape[1]),
        "n_vocab": int(n_vocab),
        "n_audio_ctx": int(state["encoder.positional_embedding"].shape[0]),
        "n_audio_state": int(state["encoder.conv1.weight"].shape[0]),
        "n_audio_head": _scalar(variables, "encoder/num_heads"),
        "n_audio_layer": _layers(variables, "encoder"),
        "n_text_ctx": int(state["decoder.positional_embedding"].shape[0]),
        "n_text_state": int(n_text_state),
        "n_text_head": _scalar(variables, "decoder/num_heads"),
        "n_text_layer": _layers(variables, "decoder"),
    }
    # one dtype for the whole checkpoint: float16 if every weight was float16, else float32
    dtype = np.float16 if all(v.dtype == np.float16 for v in state.values()) else np.float32
    return dims, {k: torch.from_numpy(np.array(v, dtype=dtype)) for k, v in state.items()}  # writable copies


def ct2_to_openai_whisper(src_dir: str | Path, dst_file: str | Path) -> Path:
    """Write an openai-whisper checkpoint (``whisper.load_model(dst_file)`` loads it) from a
    CTranslate2 Whisper model directory. The file appears whole or not at all (temp + rename)."""
    import torch

    src = Path(src_dir).expanduser()
    model_bin = src / "model.bin" if src.is_dir() else src
    spec, variables = read_ct2_model(model_bin)
    if spec != "WhisperSpec":
        raise ModelNotFoundError(f"{model_bin} holds a CTranslate2 '{spec}', not a Whisper model",
                                 "give a faster-whisper model directory")
    try:
        dims, state = ct2_state_dict(variables)
    except KeyError as e:
        raise ModelNotFoundError(f"{model_bin} lacks the Whisper variable {e}",
                                 "the model is incomplete or of a layout this converter does not know") from None
    checkpoint: dict[str, Any] = {"dims": dims, "model_state_dict": state}
    if "decoder/alignment_heads" in variables and variables["decoder/alignment_heads"].ndim == 2:
        # not part of the state dict (a non-persistent buffer); kept for whoever wants word timestamps
        checkpoint["alignment_heads"] = variables["decoder/alignment_heads"].astype(np.int64).tolist()
    dst = Path(dst_file).expanduser()
    dst.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=dst.name + ".", suffix=".part", dir=dst.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(checkpoint, f)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp's 0600 → what a plain open() would have given
        os.replace(tmp, dst)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return dst


def main(argv: list[str] | None = None) -> int:
    import argparse

    from assistant.core.errors import AssistantError

    p = argparse.ArgumentParser(prog="python -m assistant.stt.ct2_convert",
                                description="Convert a CTranslate2 (faster-whisper) Whisper model "
                                            "to an openai-whisper checkpoint.")
    p.add_argument("src", help="faster-whisper model directory (with model.bin)")
    p.add_argument("dst", help="openai-whisper checkpoint to write (.pt)")
    args = p.parse_args(argv)
    try:
        out = ct2_to_openai_whisper(args.src, args.dst)
    except AssistantError as e:
        print(f"error: {e}", file=sys.stderr)
        return e.exit_code
    print(out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
