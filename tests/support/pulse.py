"""A headless PulseAudio server as a real audio device for tests.

Set-up (docs/DESIGN.md, "Real audio devices in tests", measured stable on these machines):
- a private ``XDG_RUNTIME_DIR`` (the socket lives in ``$XDG_RUNTIME_DIR/pulse/native``) and a private
  config/state dir, so nothing touches the user's own server or settings;
- ``daemon.conf`` with the rate fixed to 16 kHz (default and alternate) and ``exit-idle-time = -1``;
- ``module-suspend-on-idle`` unloaded (else the first input block arrives ~1.2 s late);
- the speaker is a null sink ``vspeaker`` (rate=16000 channels=1 norewinds=1) whose ``.monitor``
  records what was played; the microphone is ``vmic``, a ``module-remap-source`` over the monitor of
  a second null sink ``vmicsink``: whatever is played into ``vmicsink`` is what the mic hears.

PortAudio (sounddevice) sees the server through ALSA's pulse plugin as the devices ``pulse`` and
``default``; it enumerates devices when it initialises, so :meth:`PulseEnv.activate` sets the
environment of this process and re-initialises PortAudio.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

SPEAKER = "vspeaker"
MIC_SINK = "vmicsink"
MIC = "vmic"
RATE = 16000

_DAEMON_CONF = """\
default-sample-rate = 16000
alternate-sample-rate = 16000
exit-idle-time = -1
"""


@dataclass
class Recording:
    """A ``parec`` capture running in the background; :meth:`stop` returns float32 mono samples."""

    proc: subprocess.Popen
    rate: int
    _chunks: list[bytes] = field(default_factory=list)
    _thread: threading.Thread | None = None

    def __post_init__(self) -> None:
        self._thread = threading.Thread(target=self._pump, daemon=True)
        self._thread.start()

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        while True:
            data = self.proc.stdout.read1(65536) if hasattr(self.proc.stdout, "read1") else self.proc.stdout.read(4096)
            if not data:
                break
            self._chunks.append(data)

    def stop(self) -> np.ndarray:
        if self.proc.poll() is None:
            self.proc.terminate()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        if self._thread is not None:
            self._thread.join(timeout=5)
        raw = b"".join(self._chunks)
        raw = raw[: len(raw) // 4 * 4]
        return np.frombuffer(raw, dtype="<f4").astype(np.float32)


@dataclass
class PulseEnv:
    root: Path
    runtime_dir: Path
    config_dir: Path
    log_path: Path
    env: dict[str, str]  # what a client process needs to reach this server
    speaker_sink: str = SPEAKER
    mic_sink: str = MIC_SINK
    mic_source: str = MIC
    rate: int = RATE
    _saved_env: dict[str, str | None] = field(default_factory=dict)
    _players: list[subprocess.Popen] = field(default_factory=list)

    # -- helpers -----------------------------------------------------------------------------
    def subprocess_env(self) -> dict[str, str]:
        e = dict(os.environ)
        e.update(self.env)
        return e

    def pactl(self, *args: str) -> str:
        proc = subprocess.run(["pactl", *args], env=self.subprocess_env(), capture_output=True,
                              text=True, timeout=10)
        if proc.returncode != 0:
            raise RuntimeError(f"pactl {' '.join(args)} failed: {proc.stderr.strip()}")
        return proc.stdout

    def activate(self) -> None:
        """Point this process (and PortAudio) at this server; :meth:`deactivate` undoes it."""
        for k, v in self.env.items():
            if k not in self._saved_env:
                self._saved_env[k] = os.environ.get(k)
            os.environ[k] = v
        rescan_portaudio()

    def deactivate(self) -> None:
        for k, v in self._saved_env.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        self._saved_env.clear()
        rescan_portaudio()

    # -- microphone ----------------------------------------------------------------------------
    def play_into_mic(self, audio: str | Path | np.ndarray, rate: int | None = None) -> subprocess.Popen:
        """Play a file (any format ffmpeg reads) or float32 samples into the virtual mic, in the
        background. Returns the ``pacat`` process (``.wait()`` for the end)."""
        if isinstance(audio, (str, Path)):
            from assistant.audio.io import load_audio

            samples, rate = load_audio(audio, self.rate).samples, self.rate
        else:
            samples, rate = np.asarray(audio, dtype=np.float32), int(rate or self.rate)
        fd, raw_path = tempfile.mkstemp(suffix=".f32", dir=self.root)
        with os.fdopen(fd, "wb") as f:
            f.write(samples.astype("<f4").tobytes())
        proc = subprocess.Popen(
            ["pacat", "--playback", f"--device={self.mic_sink}", "--format=float32le", f"--rate={rate}",
             "--channels=1", "--latency-msec=200", raw_path],
            env=self.subprocess_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self._players.append(proc)
        return proc

    # -- speaker -------------------------------------------------------------------------------
    def start_recording_speaker(self) -> Recording:
        """Record ``vspeaker.monitor`` (what was played to the speaker) until ``.stop()``."""
        proc = subprocess.Popen(
            ["parec", f"--device={self.speaker_sink}.monitor", "--format=float32le", f"--rate={self.rate}",
             "--channels=1", "--latency-msec=50", "--raw"],
            env=self.subprocess_env(), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        return Recording(proc, self.rate)

    def record_speaker(self, seconds: float) -> np.ndarray:
        rec = self.start_recording_speaker()
        time.sleep(seconds)
        return rec.stop()

    # -- lifetime ------------------------------------------------------------------------------
    def stop(self) -> None:
        for p in self._players:
            if p.poll() is None:
                p.kill()
                p.wait()
        if self._saved_env:
            self.deactivate()
        try:
            subprocess.run(["pactl", "exit"], env=self.subprocess_env(), capture_output=True, timeout=5)
        except (OSError, subprocess.TimeoutExpired):
            pass
        pid_file = self.runtime_dir / "pulse" / "pid"
        deadline = time.monotonic() + 3
        while pid_file.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        if pid_file.exists():  # still alive: end our own daemon by its pid, nothing else
            try:
                os.kill(int(pid_file.read_text().split()[0]), 9)
            except (ValueError, OSError):
                pass


def rescan_portaudio() -> None:
    """Re-initialise PortAudio so it re-enumerates devices (closes every open stream)."""
    try:
        import sounddevice as sd
    except (ImportError, OSError):
        return
    sd._terminate()
    sd._initialize()


def start_pulse(tmpdir: str | Path) -> tuple[PulseEnv | None, str]:
    """Start a private PulseAudio server. Returns (env, "") or (None, reason it can't start)."""
    for exe in ("pulseaudio", "pactl", "pacat", "parec"):
        if shutil.which(exe) is None:
            return None, f"{exe} is not installed (apt-get install pulseaudio pulseaudio-utils)"
    root = Path(tmpdir)
    runtime = root / "run"
    config = root / "config"
    (config / "pulse").mkdir(parents=True, exist_ok=True)
    runtime.mkdir(parents=True, exist_ok=True)
    runtime.chmod(0o700)
    (config / "pulse" / "daemon.conf").write_text(_DAEMON_CONF)
    log = root / "pulseaudio.log"
    client_env = {"XDG_RUNTIME_DIR": str(runtime), "PULSE_SERVER": f"unix:{runtime / 'pulse' / 'native'}"}
    daemon_env = dict(os.environ)
    daemon_env.update(client_env)
    daemon_env.pop("PULSE_SERVER")
    # daemon.conf is looked up in PULSE_CONFIG_PATH (not XDG_CONFIG_HOME); state and cookie go to
    # XDG_CONFIG_HOME/pulse, so no earlier run's default device or volumes leak in.
    daemon_env["PULSE_CONFIG_PATH"] = str(config / "pulse")
    daemon_env["XDG_CONFIG_HOME"] = str(config)
    try:
        proc = subprocess.run(
            ["pulseaudio", "--daemonize=yes", "--exit-idle-time=-1", "--system=false",
             f"--log-target=file:{log}"],
            env=daemon_env, capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired) as e:
        return None, f"pulseaudio could not be started: {e}"
    env = PulseEnv(root, runtime, config, log, client_env)
    if proc.returncode != 0:
        detail = log.read_text(errors="replace").strip().splitlines()[-1:] if log.exists() else []
        return None, f"pulseaudio exited with {proc.returncode}: {(proc.stderr.strip() or ' '.join(detail))[:300]}"
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                env.pactl("info")
                break
            except RuntimeError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        if "module-suspend-on-idle" in env.pactl("list", "short", "modules"):
            env.pactl("unload-module", "module-suspend-on-idle")
        env.pactl("load-module", "module-null-sink", f"sink_name={SPEAKER}", f"rate={RATE}", "channels=1",
                  "norewinds=1", "sink_properties=device.description=Virtual_Speaker")
        env.pactl("load-module", "module-null-sink", f"sink_name={MIC_SINK}", f"rate={RATE}", "channels=1",
                  "norewinds=1", "sink_properties=device.description=Virtual_Mic_Feed")
        env.pactl("load-module", "module-remap-source", f"master={MIC_SINK}.monitor", f"source_name={MIC}",
                  "source_properties=device.description=Virtual_Microphone")
        env.pactl("set-default-sink", SPEAKER)
        env.pactl("set-default-source", MIC)
    except (RuntimeError, OSError, subprocess.TimeoutExpired) as e:
        env.stop()
        return None, f"pulseaudio started but could not be configured: {e}"
    return env, ""
