"""Every CLI command against a generated set of bad inputs, table-driven.

For each row: the documented exit code, one message naming the problem, no traceback (and never
exit 1 or 70 on a user error), every input file unchanged byte for byte, and the turn log intact
(valid JSON lines; a record only for a turn that really ran).

"Unwritable" is made real for root in two ways: a regular file where the output's folder should
be, and a folder in sysfs (/sys), where even root cannot create files.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import wave
from pathlib import Path

import numpy as np
import pytest

from assistant.cli import main
from tests.cli.test_cli import tiny_config  # noqa: F401  (the session fixture: every stage on tiny models)

REPO_ENV = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}  # this checkout, from any cwd
DOCUMENTED_EXITS = {0, 2, 3, 4, 5, 6, 9, 130, 143}


def _ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-v", "error", "-y", *args], check=True, timeout=60)


def _wav(path: Path, samples: np.ndarray, rate: int = 16000, channels: int = 1) -> Path:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes((np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes())
    return path


def _tone(seconds: float, rate: int = 16000) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return 0.3 * np.sin(2 * np.pi * 220 * t)


@pytest.fixture(scope="session")
def bad(tmp_path_factory) -> dict[str, Path]:
    if shutil.which("ffmpeg") is None:
        pytest.skip("ffmpeg is not installed")
    d = tmp_path_factory.mktemp("bad inputs")
    f: dict[str, Path] = {"missing": d / "nope.wav"}
    (d / "empty.wav").write_bytes(b"")
    f["empty"] = d / "empty.wav"
    (d / "folder.wav").mkdir()
    f["directory"] = d / "folder.wav"
    _ffmpeg("-f", "lavfi", "-i", "sine=frequency=300:duration=4", str(d / "whole.flac"))
    data = (d / "whole.flac").read_bytes()
    (d / "cut.flac").write_bytes(data[: len(data) // 3])
    f["truncated"] = d / "cut.flac"
    (d / "noise.mp3").write_bytes(np.random.default_rng(7).integers(0, 256, 8192, dtype=np.uint8).tobytes())
    f["random"] = d / "noise.mp3"
    (d / "notes.wav").write_text("this is not audio\n")
    f["text"] = d / "notes.wav"
    x = _tone(1.0).astype(np.float32)
    x[100:200], x[300] = np.nan, np.inf
    x.tofile(d / "nan.f32")
    _ffmpeg("-f", "f32le", "-ar", "16000", "-ac", "1", "-i", str(d / "nan.f32"), "-c:a", "pcm_f32le",
            str(d / "nan.wav"))
    f["nan"] = d / "nan.wav"
    f["huge"] = _wav(d / "huge.wav", np.zeros(16000 * 600))  # 10 minutes, 19 MB of digital silence
    f["tiny"] = _wav(d / "tiny.wav", _tone(0.01))
    f["silent"] = _wav(d / "silent.wav", np.zeros(16000 * 2))
    f["rate_8k_6ch"] = _wav(d / "six.wav", np.repeat(_tone(1.0, 8000), 6), rate=8000, channels=6)
    f["rate_192k"] = _wav(d / "hi.wav", np.repeat(_tone(1.0, 192000), 2), rate=192000, channels=2)
    _ffmpeg("-f", "lavfi", "-i", "testsrc=duration=1:size=160x120:rate=10", "-pix_fmt", "yuv420p", str(d / "mute.mp4"))
    f["video_no_audio"] = d / "mute.mp4"
    _ffmpeg("-f", "lavfi", "-i", "testsrc=duration=1:size=160x120:rate=10", "-f", "lavfi", "-i",
            "sine=frequency=440:duration=1", "-pix_fmt", "yuv420p", "-shortest", str(d / "clip.mp4"))
    f["video_with_audio"] = d / "clip.mp4"
    f["unicode"] = _wav(d / "frågä 日本語 🎤.wav", np.zeros(16000))
    shutil.copy(f["silent"], d / "sound.xyz")
    f["unknown_ext_audio"] = d / "sound.xyz"
    f["good"] = _wav(d / "good.wav", np.zeros(8000))
    os.symlink(f["good"], d / "link.wav")
    f["symlink_to_good"] = d / "link.wav"
    os.link(f["good"], d / "hard.wav")
    f["hardlink_to_good"] = d / "hard.wav"
    (d / "afile").write_text("x")
    f["file_as_folder"] = d / "afile"
    return f


def _digest(files: dict[str, Path]) -> dict[str, str]:
    return {k: hashlib.sha256(p.read_bytes()).hexdigest() for k, p in files.items() if p.is_file()}


def _log(cfg: Path) -> list[dict]:
    p = cfg.parent / "turns.jsonl"
    return [json.loads(line) for line in p.read_text().splitlines()] if p.exists() else []


# (command, case, expected exit, phrase the output must hold). Cases name an input in `bad`
# or an output/config problem, built in `_argv`.
ROWS = [
    # respond: inputs
    ("respond", "missing", 3, "input file not found"),
    ("respond", "empty", 3, "is empty (0 bytes)"),
    ("respond", "directory", 3, "is a directory"),
    ("respond", "truncated", 3, "corrupt, truncated or not audio"),
    ("respond", "random", 3, "corrupt, truncated or not audio"),
    ("respond", "text", 3, "corrupt, truncated or not audio"),
    ("respond", "nan", 3, "NaN or infinite sample values"),
    ("respond", "huge", 9, "the recording is silent"),
    ("respond", "tiny", 9, "too short"),
    ("respond", "silent", 9, "the recording is silent"),
    ("respond", "rate_8k_6ch", 9, "didn't hear any speech"),
    ("respond", "rate_192k", 9, "didn't hear any speech"),
    ("respond", "video_no_audio", 3, "has no audio track"),
    ("respond", "video_with_audio", 9, "didn't hear any speech"),
    ("respond", "unicode", 9, "the recording is silent"),
    ("respond", "unknown_ext_audio", 9, "the recording is silent"),
    # respond: outputs and the log
    ("respond", "out=in", 2, "is the same file as"),
    ("respond", "out=symlink", 2, "is the same file as"),
    ("respond", "out=hardlink", 2, "is the same file as"),
    ("respond", "out=config", 2, "is the same file as"),
    ("respond", "out_dir_missing", 3, "does not exist"),
    ("respond", "out_dir_is_file", 3, "is a file, not a folder"),
    ("respond", "out_dir_sysfs", 3, "is not writable"),
    ("respond", "out_is_dir", 3, "is a directory"),
    ("respond", "out_ext", 3, "unknown format '.xyz'"),
    ("respond", "log_is_dir", 2, "log.path"),
    ("respond", "log=in", 2, "log.path"),
    # transcribe
    ("transcribe", "missing", 3, "input file not found"),
    ("transcribe", "directory", 3, "is a directory"),
    ("transcribe", "random", 3, "corrupt, truncated or not audio"),
    ("transcribe", "nan", 3, "NaN or infinite sample values"),
    ("transcribe", "video_no_audio", 3, "has no audio track"),
    ("transcribe", "out=in", 2, "is the same file as"),
    ("transcribe", "out_dir_missing", 3, "does not exist"),
    ("transcribe", "out_dir_sysfs", 3, "is not writable"),
    # say
    ("say", "empty_text", 2, "TEXT is empty"),
    ("say", "emoji_only", 2, "no words a voice can speak"),
    ("say", "bad_language", 2, "--language"),
    ("say", "out_ext", 3, "unknown format '.xyz'"),
    ("say", "out_dir_missing", 3, "does not exist"),
    ("say", "out_dir_is_file", 3, "is a file, not a folder"),
    ("say", "out=config", 2, "is the same file as"),
    # config and languages
    ("config check", "missing", 2, "config file not found"),
    ("config check", "directory", 2, "is a directory"),
    ("config check", "random", 2, "config"),
    ("config check", "bomb", 2, "alias"),
    ("config show", "bomb", 2, "alias"),
    ("languages", "bomb", 2, "alias"),
]

BOMB = "llm:\n  backend: openai\n  extra_body:\n    a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"    {n}: &{n} [{', '.join(['*' + p] * 9)}]\n" for p, n in zip("abcdefgh", "bcdefghi"))


def _argv(command: str, case: str, bad: dict[str, Path], cfg: Path, tmp: Path) -> list[str]:
    if command in ("config check", "config show", "languages"):
        if case == "bomb":
            (tmp / "bomb.yaml").write_text(BOMB)
            target = tmp / "bomb.yaml"
        else:
            target = bad[case]
        return ["config", "check", str(target)] if command == "config check" else \
            [*command.split(), "-c", str(target)]
    if command == "say":
        text, lang, out = "Hello there.", [], tmp / "said.wav"
        if case == "empty_text":
            text = "   "
        elif case == "emoji_only":  # nothing left once made speakable, as /v1/audio/speech refuses it
            text = "😀 ✨"
        elif case == "bad_language":
            lang = ["--language", "zz"]
        elif case.startswith("out"):
            out = _output(case, bad, cfg, tmp)
        return ["say", text, *lang, "-o", str(out), "-c", str(cfg)]
    source = bad.get(case, bad["good"])
    extra = []
    if case.startswith("out"):
        out = _output(case, bad, cfg, tmp)
    else:
        out = tmp / ("reply.wav" if command == "respond" else "text.txt")
    if case == "log_is_dir":
        extra = ["--set", f"log.path={tmp}"]
    if case == "log=in":
        extra = ["--set", f"log.path={bad['good']}"]
    return [command, str(source), "-o", str(out), "-c", str(cfg), *extra]


def _output(case: str, bad: dict[str, Path], cfg: Path, tmp: Path) -> Path:
    return {
        "out=in": bad["good"],
        "out=symlink": bad["symlink_to_good"],
        "out=hardlink": bad["hardlink_to_good"],
        "out=config": cfg,
        "out_dir_missing": tmp / "no" / "such" / "r.wav",
        "out_dir_is_file": bad["file_as_folder"] / "r.wav",
        "out_dir_sysfs": Path("/sys/r.wav"),
        "out_is_dir": tmp,
        "out_ext": tmp / "r.xyz",
    }[case]


@pytest.mark.parametrize("command,case,code,phrase", ROWS, ids=[f"{r[0]}-{r[1]}" for r in ROWS])
def test_bad_input_table(bad, tiny_config, tmp_path, capsys, command, case, code, phrase):  # noqa: F811
    if case == "out_dir_sysfs" and not Path("/sys").is_dir():
        pytest.skip("no /sys here")
    before_files = _digest(bad) | {"config": hashlib.sha256(tiny_config.read_bytes()).hexdigest()}
    before_log = _log(tiny_config)
    argv = _argv(command, case, bad, tiny_config, tmp_path)
    result = main(argv)
    out, err = capsys.readouterr()
    assert result == code, f"{argv}: exit {result}\n{out}\n{err}"
    assert result in DOCUMENTED_EXITS and result not in (1, 70)
    assert "Traceback" not in out + err
    assert phrase in out + err, f"{argv}:\n{out}\n{err}"
    if code not in (0, 9):
        errors = [line for line in err.splitlines() if line.startswith("error:")]
        assert len(errors) == 1, err  # one message
    after = _digest(bad) | {"config": hashlib.sha256(tiny_config.read_bytes()).hexdigest()}
    assert after == before_files  # no input touched, whatever the output path
    log = _log(tiny_config)  # parses: intact
    assert log[: len(before_log)] == before_log
    ran = code in (0, 5, 9) and command == "respond"
    assert len(log) == len(before_log) + (1 if ran else 0)
    assert not list(tmp_path.glob(".*.part*"))  # no temporary output left behind


def test_no_traceback_from_the_console_script(bad, tmp_path):
    """The same checks through a real process (what the user's shell sees)."""
    for argv, code in ((["respond", str(bad["nan"]), "-o", str(tmp_path / "r.wav")], 3),
                       (["transcribe", str(bad["random"]), "-o", str(bad["random"])], 2),
                       (["say", "", "-o", str(tmp_path / "x.wav")], 2)):
        proc = subprocess.run([sys.executable, "-m", "assistant", *argv], capture_output=True, text=True,
                              timeout=120, cwd=tmp_path, env=REPO_ENV)
        assert proc.returncode == code, proc.stderr
        assert "Traceback" not in proc.stderr and proc.stderr.startswith("error:"), proc.stderr
