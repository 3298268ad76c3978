"""Never lose a user's file, survive interrupts, keep the log unique and free of secrets."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from assistant.config import load_config
from assistant.core import errors, secrets
from assistant.core.errors import AssistantError, ConfigError, LLMConnectionError
from assistant.core.paths import atomic_output, default_reply_path
from assistant.core.turnlog import TurnLog
from tests.cli.test_cli import JFK, tiny_config  # noqa: F401
from tests.support.fault_server import FaultServer

ROOT = Path(__file__).resolve().parents[2]
REPO_ENV = {**os.environ, "PYTHONPATH": str(ROOT)}


# ------------------------------------------------------------------ atomic writes

def test_atomic_output_keeps_the_old_file_on_any_failure(tmp_path):
    target = tmp_path / "reply.wav"
    target.write_bytes(b"the user's good file")
    for exc in (RuntimeError("encoder failed"), KeyboardInterrupt()):
        with pytest.raises(type(exc)):
            with atomic_output(target) as tmp:
                tmp.write_bytes(b"half a")
                raise exc
        assert target.read_bytes() == b"the user's good file"
        assert sorted(p.name for p in tmp_path.iterdir()) == ["reply.wav"]
    with atomic_output(target) as tmp:
        tmp.write_bytes(b"new")
    assert target.read_bytes() == b"new" and oct(target.stat().st_mode & 0o777) != "0o600"


# ------------------------------------------------------------------ default output

def test_default_reply_goes_beside_the_input(tmp_path):
    src = tmp_path / "question.flac"
    src.write_bytes(b"x")
    assert default_reply_path(src) == (tmp_path / "question.reply.wav", None)


def test_default_reply_falls_back_to_the_current_folder_and_says_so(tmp_path, monkeypatch):
    ro = tmp_path / "ro"
    ro.mkdir()
    (ro / "q.wav").write_bytes(b"x")
    if subprocess.run(["mount", "--bind", "-o", "ro", str(ro), str(ro)], capture_output=True).returncode:
        pytest.skip("cannot make a read-only bind mount here (needs root)")
    try:
        monkeypatch.chdir(tmp_path)
        path, notice = default_reply_path(ro / "q.wav")
        assert path == tmp_path / "q.reply.wav" and notice and str(ro) in notice and "not writable" in notice
    finally:
        subprocess.run(["umount", str(ro)], check=True)


@pytest.mark.skipif(not JFK.exists(), reason="../shared/audio is not present")
def test_respond_without_output_writes_beside_the_input(tiny_config, tmp_path, monkeypatch, capsys):  # noqa: F811
    from assistant.cli import main

    src = tmp_path / "in" / "jfk.flac"
    src.parent.mkdir()
    src.write_bytes(JFK.read_bytes())
    elsewhere = tmp_path / "cwd"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert main(["respond", str(src), "-c", str(tiny_config)]) == 0
    assert (src.parent / "jfk.reply.wav").stat().st_size > 1000 and not list(elsewhere.iterdir())
    assert src.read_bytes() == JFK.read_bytes()


# ------------------------------------------------------------------ interrupts

@pytest.mark.skipif(not JFK.exists(), reason="../shared/audio is not present")
@pytest.mark.parametrize("sig,code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_interrupt_mid_turn_is_logged_and_leaves_no_output(tiny_config, tmp_path, sig, code):  # noqa: F811
    server = FaultServer("never", hold_s=60)  # the turn waits in the LLM stage
    try:
        out = tmp_path / "reply.wav"
        log = tmp_path / "turns.jsonl"
        proc = subprocess.Popen(
            [sys.executable, "-m", "assistant", "respond", str(JFK), "-o", str(out), "-c", str(tiny_config),
             "--set", "llm.backend=openai", "--set", f"llm.base_url={server.url}", "--set", "llm.timeout_s=60",
             "--set", f"log.path={log}"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=REPO_ENV, cwd=tmp_path)
        end = time.monotonic() + 120
        while not server.requests and time.monotonic() < end and proc.poll() is None:
            time.sleep(0.05)
        assert server.requests, proc.communicate()[1]
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=30)
        assert proc.returncode == code, err
        assert "Traceback" not in err and "stopped" in err
        (record,) = [json.loads(line) for line in log.read_text().splitlines()]
        assert record["status"] == "interrupted" and record["interrupted"] is True and record["transcript"]
        assert not out.exists() and not list(tmp_path.glob(".*part*"))
    finally:
        server.close()


# ------------------------------------------------------------------ turn log

def test_turn_ids_are_unique_across_processes_and_a_cut_line_is_kept_apart(tmp_path):
    path = tmp_path / "turns.jsonl"
    first, second = TurnLog(path), TurnLog(path)  # two runs of `assistant respond`
    first.append({"id": 1, "status": "ok"})
    with open(path, "a") as f:
        f.write('{"id": "killed mid-wri')  # a process killed while writing
    second.append({"id": 1, "status": "ok"})
    lines = path.read_text().splitlines()
    assert len(lines) == 3
    a, c = json.loads(lines[0]), json.loads(lines[2])
    assert a["id"] != c["id"] and a["turn"] == c["turn"] == 1 and a["session"] != c["session"]
    assert re.fullmatch(r"\d{8}T\d{6}-[0-9a-f]{6}-1", a["id"])


def test_the_key_never_reaches_a_message_or_the_log(tmp_path):
    key = "sk-live-redact-me-987654321"
    secrets.register(key)
    e = LLMConnectionError(f"the LLM server at http://x/v1 sent a malformed stream event: 'Bearer {key}'",
                           f"hint with {key}")
    assert key not in str(e) and "***" in str(e)
    assert key not in str(ConfigError([f"a {key}"])) and key not in str(AssistantError(key))
    log = TurnLog(tmp_path / "t.jsonl")
    log.append({"id": 1, "error": f"echo: Authorization: Bearer {key}", "reply": f'"{key}"'})
    assert key not in (tmp_path / "t.jsonl").read_text()


def test_log_path_problems_are_config_errors(tmp_path):
    from assistant.core.paths import check_log_path

    with pytest.raises(ConfigError, match="is a directory"):
        check_log_path(str(tmp_path))
    (tmp_path / "f").write_text("x")
    with pytest.raises(ConfigError, match="is a file, not a folder"):
        check_log_path(str(tmp_path / "f" / "turns.jsonl"))
    check_log_path(str(tmp_path / "new" / "dir" / "turns.jsonl"))  # created on first write: fine


# ------------------------------------------------------------------ hostile YAML

@pytest.mark.parametrize("text,phrase", [
    ("llm:\n  backend: openai\n  extra_body:\n    a: &a [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]\n" +
     "".join(f"    {n}: &{n} [{', '.join(['*' + p] * 10)}]\n" for p, n in zip("abcdef", "bcdefg")),
     "more than 100,000 values"),
    ("llm:\n  backend: openai\n  extra_body: &x\n    self: *x\n", "recursive"),
    ("a: " + "[" * 20_000 + "]" * 20_000 + "\n", "nested more than 64 levels"),
], ids=["alias-bomb", "recursive", "deep"])
def test_hostile_yaml_is_refused_quickly(tmp_path, text, phrase):
    cfg = tmp_path / "evil.yaml"
    cfg.write_text(text)
    start = time.monotonic()
    with pytest.raises(ConfigError, match=phrase):
        load_config(cfg)
    assert time.monotonic() - start < 5


def test_oversized_config_and_alias_in_set(tmp_path):
    cfg = tmp_path / "big.yaml"
    cfg.write_text("# padding\n" * 200_000)
    with pytest.raises(ConfigError, match="at most"):
        load_config(cfg)
    with pytest.raises(ConfigError, match="recursive"):
        load_config(None, ["llm.extra_body=&a [1, *a]"])
    assert load_config(None, ["llm.backend=openai", "llm.extra_body={top_k: 20}"]).llm.extra_body == {"top_k": 20}


# ------------------------------------------------------------------ exit codes and telemetry

def test_every_exit_code_is_in_the_readme():
    readme = (ROOT / "README.md").read_text()
    section = readme.split("### Exit codes", 1)[1].split("\n## ", 1)[0]
    codes = {cls.exit_code for cls in vars(errors).values()
             if isinstance(cls, type) and issubclass(cls, AssistantError)}
    from assistant.cli import TERMINATED_EXIT
    from assistant.cli.files import NO_SPEECH_EXIT

    for code in codes | {0, 70, 130, TERMINATED_EXIT, NO_SPEECH_EXIT}:
        assert re.search(rf"\b{code}\b", section), f"exit code {code} is not in the README's table"
    assert 1 not in codes


def test_onnxruntime_writes_no_telemetry(tmp_path):
    pytest.importorskip("onnxruntime")
    pytest.importorskip("silero_vad")
    env = {**REPO_ENV, "HOME": str(tmp_path)}
    env.pop("ORT_DISABLE_TELEMETRY", None)
    code = ("import assistant\nfrom assistant.config import load_config\nfrom assistant.audio.vad import make_vad\n"
            "v = make_vad(load_config().audio.vad)\nv.load()\nprint(v.backend)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0 and "onnx" in proc.stdout, proc.stderr
    assert not (tmp_path / ".cache" / "Microsoft").exists()


def test_the_python_api_refuses_to_write_over_its_input(tmp_path):
    from assistant.core.errors import UsageError
    from assistant.modes.file import Assistant
    from assistant.tts.voices import VoiceRouter
    from tests.support.fakes import FakeLLM, FakeSTT, FakeTTS

    config = load_config(None, [f"log.path={tmp_path / 't.jsonl'}"])
    bot = Assistant(config, FakeSTT(), FakeLLM(), VoiceRouter(config.tts, factory=lambda o: FakeTTS()))
    src = tmp_path / "question.wav"
    src.write_bytes(b"RIFF the user's recording")
    with pytest.raises(UsageError, match="same file"):
        bot.respond(src, output=src)
    assert src.read_bytes() == b"RIFF the user's recording"


# ------------------------------------------------------------------ the same rules in the turn engine

class _BreaksMidReply:
    """An LLM that writes one sentence, then fails (a server that closed the stream)."""

    def load(self) -> None:
        pass

    def count_tokens(self, text: str) -> int:
        return len(text.split())

    def stream(self, messages):
        yield "This part gets said. "
        yield "And then"
        raise LLMConnectionError("the LLM server at http://x/v1 closed the stream before the reply was complete")


def _engine(tmp_path, llm):
    from assistant.engine import Stages, TurnEngine
    from assistant.tts.voices import VoiceRouter
    from tests.support.fakes import FakeSTT, FakeTTS

    cfg = load_config(None, [f"log.path={tmp_path / 'turns.jsonl'}", "language.check_reply=false"])
    tts = FakeTTS()
    stages = Stages(cfg, FakeSTT(), llm, VoiceRouter(cfg.tts, factory=lambda o: tts))
    return TurnEngine(stages, TurnLog(cfg.log.path)), tmp_path / "turns.jsonl"


def test_a_server_turn_keeps_what_was_said_when_the_llm_breaks_off(tmp_path):
    from assistant.core.types import Utterance
    from assistant.engine import ReplySink, TurnPolicy
    from tests.support.fakes import tone

    engine, log = _engine(tmp_path, _BreaksMidReply())
    session = engine.new_session()
    turn = engine.run(session, Utterance(tone(), source="realtime", speech_ratio=0.9), ReplySink(),
                      TurnPolicy(stream=True, raise_errors=False))
    assert turn.status == "failed" and "closed the stream" in turn.error
    assert turn.reply_text == "This part gets said."
    assert [reply for _, reply in session.history.turns] == ["This part gets said."]
    rec = json.loads(log.read_text().splitlines()[-1])
    assert rec["reply"] == "This part gets said." and rec["status"] == "failed"


def test_engine_sessions_name_the_turn_ids_in_the_log(tmp_path):
    from assistant.core.types import Utterance
    from assistant.engine import ReplySink
    from tests.support.fakes import FakeLLM, tone

    engine, log = _engine(tmp_path, FakeLLM(reply="Fine."))
    a, b = engine.new_session(), engine.new_session()  # two connections of one server
    for session in (a, b, a):
        engine.run(session, Utterance(tone(), source="realtime", speech_ratio=0.9), ReplySink())
    recs = [json.loads(line) for line in log.read_text().splitlines()]
    assert [r["id"] for r in recs] == [f"{a.id}-1", f"{b.id}-1", f"{a.id}-2"]
    assert [r["session"] for r in recs] == [a.id, b.id, a.id] and [r["turn"] for r in recs] == [1, 1, 2]
    assert re.fullmatch(r"\d{8}T\d{6}-[0-9a-f]{6}", a.id) and all(r["models"] for r in recs)


def test_ctrl_c_inside_an_engine_turn_is_logged_as_interrupted(tmp_path):
    from assistant.core.types import Utterance
    from assistant.engine import ReplySink
    from tests.support.fakes import FakeLLM, tone

    engine, log = _engine(tmp_path, FakeLLM(fail=KeyboardInterrupt()))
    with pytest.raises(KeyboardInterrupt):
        engine.run(engine.new_session(), Utterance(tone(), source="mic", speech_ratio=0.9), ReplySink())
    rec = json.loads(log.read_text().splitlines()[-1])
    assert rec["status"] == "interrupted" and rec["interrupted"] is True


def test_keys_of_the_audio_backends_and_server_errors_are_redacted(monkeypatch):
    from assistant.core.remote import api_key, redact
    from assistant.modes.server.realtime import SocketSink

    key = "sk-audio-backend-key-24680"
    monkeypatch.setenv("ASSISTANT_TEST_TTS_KEY", key)
    assert api_key("tts", "ASSISTANT_TEST_TTS_KEY") == key  # registering it as a secret
    assert key not in redact(f"echo {key}", None)
    assert key not in str(errors.StageError("tts", f"the TTS server said: Bearer {key}"))
    events = []
    SocketSink(events.append, "resp_1", "item_1").error(f"upstream echoed {key}")
    assert key not in json.dumps(events) and "***" in events[0]["error"]["message"]
