"""CTranslate2 Whisper → openai-whisper checkpoint (assistant.stt.ct2_convert).

The round trip on the session's tiny random-weight checkpoint (openai → CTranslate2 by the
project's test-model code → back by the converter) must give back every tensor; the real starter
model, converted, must transcribe real speech in openai-whisper.
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest
import torch

from assistant.core.errors import ModelNotFoundError
from assistant.stt.ct2_convert import ct2_to_openai_whisper, main, read_ct2_model
from tests.support.shared import shared_audio, starter_model


def _ct2(tiny_whisper_path: Path, tmp_path_factory, quantization: str | None) -> Path:
    from assistant.bench.models.convert import convert_whisper_checkpoint

    return convert_whisper_checkpoint(tiny_whisper_path, tmp_path_factory.mktemp("ct2") / "m", quantization)


@pytest.mark.parametrize("quantization, tolerance", [(None, 0.0), ("float16", 1e-3), ("int8", 0.05)])
def test_round_trip_gives_back_every_tensor(tiny_whisper_path, tmp_path_factory, quantization, tolerance):
    ct2 = _ct2(tiny_whisper_path, tmp_path_factory, quantization)
    out = ct2_to_openai_whisper(ct2, ct2.parent / "back.pt")
    original = torch.load(tiny_whisper_path, map_location="cpu", weights_only=True)
    back = torch.load(out, map_location="cpu", weights_only=True)
    assert back["dims"] == original["dims"]
    want, got = original["model_state_dict"], back["model_state_dict"]
    assert set(got) == set(want)
    for name, w in want.items():
        g = got[name].float()
        assert g.shape == w.shape, name
        scale = float(w.float().abs().max()) or 1.0
        assert float((g - w.float()).abs().max()) <= tolerance * scale, name
    assert {t.dtype for t in got.values()} == {torch.float16 if quantization == "float16" else torch.float32}


def test_converted_checkpoint_loads_in_whisper(tiny_whisper_path, tmp_path_factory):
    import whisper

    ct2 = _ct2(tiny_whisper_path, tmp_path_factory, None)
    model = whisper.load_model(str(ct2_to_openai_whisper(ct2, ct2.parent / "w.pt")), device="cpu")
    assert model.dims.n_vocab == 51865


def test_bad_sources_are_clear_errors(tmp_path):
    with pytest.raises(ModelNotFoundError, match="no CTranslate2 model"):
        ct2_to_openai_whisper(tmp_path, tmp_path / "x.pt")
    (tmp_path / "model.bin").write_bytes(struct.pack("<I", 99))
    with pytest.raises(ModelNotFoundError, match="binary version 99"):
        ct2_to_openai_whisper(tmp_path, tmp_path / "x.pt")
    (tmp_path / "model.bin").write_bytes(struct.pack("<I", 6) + struct.pack("<H", 12) + b"WhisperSpec\0" + b"\1")
    with pytest.raises(ModelNotFoundError, match="truncated"):
        ct2_to_openai_whisper(tmp_path, tmp_path / "x.pt")
    assert not list(tmp_path.glob("x.pt*"))  # nothing half-written
    assert main([str(tmp_path), str(tmp_path / "x.pt")]) == 4


def test_truncated_real_model_is_refused_without_output(tmp_path, tiny_whisper_path, tmp_path_factory):
    ct2 = _ct2(tiny_whisper_path, tmp_path_factory, None)
    data = (ct2 / "model.bin").read_bytes()
    (tmp_path / "model.bin").write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelNotFoundError, match="truncated"):
        ct2_to_openai_whisper(tmp_path, tmp_path / "out.pt")
    assert list(tmp_path.iterdir()) == [tmp_path / "model.bin"]


def test_starter_model_converts_and_transcribes_in_openai_whisper(tmp_path):
    import jiwer
    import whisper

    src = starter_model("whisper-base-ct2")
    jfk = shared_audio("jfk.flac")
    spec, variables = read_ct2_model(src / "model.bin")
    assert spec == "WhisperSpec" and variables["decoder/embeddings/weight"].dtype == np.float16
    model = whisper.load_model(str(ct2_to_openai_whisper(src, tmp_path / "base.pt")), device="cpu")
    result = model.transcribe(str(jfk), fp16=False, temperature=0.0, language=None)
    assert result["language"] == "en"
    reference = ("and so my fellow americans ask not what your country can do for you "
                 "ask what you can do for your country")
    from assistant.eval.wer import normalize

    assert jiwer.wer(reference, normalize(result["text"])) <= 0.1
