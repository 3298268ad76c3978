"""Ctrl-C and SIGTERM during a turn stop `assistant respond` and `assistant serve` within a second
even with every core busy: the process ends once the turn's log line is written instead of waiting
for the model call in flight. The bound is a second beyond what a bare Python process needs to
handle the same signal under the same load (so the check holds on a slow or loaded machine)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.cli.test_cli import JFK, tiny_config  # noqa: F401
from tests.support.fault_server import FaultServer

ROOT = Path(__file__).resolve().parents[2]
REPO_ENV = {**os.environ, "PYTHONPATH": str(ROOT)}
websockets_sync = pytest.importorskip("websockets.sync.client")


@contextmanager
def busy_cores():
    procs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(os.cpu_count() or 2)]
    try:
        time.sleep(0.3)
        yield
    finally:
        for p in procs:
            p.kill()
            p.wait()


def bare_python_stop(sig) -> float:
    """Seconds a bare Python process takes to handle ``sig`` in Python and exit, now."""
    p = subprocess.Popen([sys.executable, "-c", "import signal, sys, time\n"
                          "signal.signal(signal.SIGTERM, lambda *a: sys.exit(143))\n"
                          "print('ready', flush=True)\ntry:\n    time.sleep(60)\nexcept KeyboardInterrupt:\n"
                          "    sys.exit(130)\n"], stdout=subprocess.PIPE, text=True)
    p.stdout.readline()
    t0 = time.monotonic()
    p.send_signal(sig)
    p.wait(timeout=30)
    return time.monotonic() - t0


def stop_time(proc, sig) -> tuple[float, str]:
    t0 = time.monotonic()
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    return time.monotonic() - t0, err


@pytest.mark.skipif(not JFK.exists(), reason="../shared/audio is not present")
@pytest.mark.parametrize("sig,code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_respond_stops_within_a_second_with_the_machine_busy(tiny_config, tmp_path, sig, code):  # noqa: F811
    server = FaultServer("never", hold_s=60)  # the turn waits in the LLM stage
    log = tmp_path / "turns.jsonl"
    try:
        proc = subprocess.Popen(
            [sys.executable, "-m", "assistant", "respond", str(JFK), "-o", str(tmp_path / "reply.wav"),
             "-c", str(tiny_config), "--set", "llm.backend=openai", "--set", f"llm.base_url={server.url}",
             "--set", "llm.timeout_s=60", "--set", f"log.path={log}"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=REPO_ENV, cwd=tmp_path)
        end = time.monotonic() + 120
        while not server.requests and time.monotonic() < end and proc.poll() is None:
            time.sleep(0.05)
        assert server.requests, proc.communicate()[1]
        with busy_cores():
            bare = bare_python_stop(sig)
            took, err = stop_time(proc, sig)
        print(f"respond stopped in {took:.2f} s; a bare Python process in {bare:.2f} s")
        assert proc.returncode == code and "Traceback" not in err, err
        assert took < 1.0 + bare, f"stopped after {took:.2f} s (a bare process: {bare:.2f} s)"
        (record,) = [json.loads(line) for line in log.read_text().splitlines()]
        assert record["status"] == "interrupted"
    finally:
        server.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("sig,code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_serve_stops_within_a_second_during_a_turn_with_the_machine_busy(tiny_config, tmp_path, sig, code):  # noqa: F811
    server = FaultServer("never", hold_s=60)
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "assistant", "serve", "--port", str(port), "-c", str(tiny_config),
         "--set", "llm.backend=openai", "--set", f"llm.base_url={server.url}", "--set", "llm.timeout_s=60",
         "--set", f"log.path={tmp_path / 'turns.jsonl'}"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=REPO_ENV, cwd=tmp_path)
    try:
        end = time.monotonic() + 180
        ws = None
        while ws is None and time.monotonic() < end and proc.poll() is None:
            try:
                ws = websockets_sync.connect(f"ws://127.0.0.1:{port}/v1/realtime")
            except OSError:
                time.sleep(0.2)
        assert ws is not None, proc.communicate()[1]
        ws.send(json.dumps({"type": "conversation.item.create", "item": {
            "type": "message", "role": "user", "content": [{"type": "input_text", "text": "Hello there."}]}}))
        ws.send(json.dumps({"type": "response.create"}))
        while not server.requests and time.monotonic() < end:
            time.sleep(0.05)
        assert server.requests
        with busy_cores():
            bare = bare_python_stop(sig)
            took, err = stop_time(proc, sig)
        print(f"serve stopped in {took:.2f} s; a bare Python process in {bare:.2f} s")
        assert proc.returncode == code and "Traceback" not in err, err
        assert took < 1.0 + bare, f"stopped after {took:.2f} s (a bare process: {bare:.2f} s)"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
        server.close()
