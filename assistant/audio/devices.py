"""Finding audio devices: list them, and turn the config's ``audio.input_device`` /
``audio.output_device`` (None, an index, or part of a name) into one device.

Devices come from PortAudio (``sounddevice``). On Linux, PortAudio reaches PulseAudio/PipeWire
only through ALSA's ``pulse`` plugin, where every sink and source hides behind the one device
``pulse``; so when that device exists and ``pactl`` answers, each sink (output) and source (input)
is listed as well, with ``pulse_name`` set. A stream opened on such an entry goes through the
``pulse`` device with ``PULSE_SINK`` / ``PULSE_SOURCE`` set while it opens (see
:func:`stream_routing`). No PortAudio exception leaves this module: errors become
:class:`AudioDeviceError` or :class:`MissingDependencyError`.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Iterator, Literal

from assistant.core.errors import AudioDeviceError, MissingDependencyError

Kind = Literal["input", "output"]
CONFIG_KEY = {"input": "audio.input_device", "output": "audio.output_device"}

_env_lock = threading.Lock()  # PULSE_SINK/PULSE_SOURCE are process-wide while a stream opens


@dataclass(frozen=True)
class DeviceInfo:
    index: int  # PortAudio device index (for PulseAudio entries: the index of the ``pulse`` device)
    name: str
    max_input_channels: int
    max_output_channels: int
    default_samplerate: float
    is_default_input: bool = False
    is_default_output: bool = False
    hostapi: str = ""
    pulse_name: str | None = None  # PulseAudio sink/source name reached through the ``pulse`` device
    description: str = ""

    def channels(self, kind: Kind) -> int:
        return self.max_input_channels if kind == "input" else self.max_output_channels

    def label(self) -> str:
        extra = f" ({self.description})" if self.description and self.description != self.name else ""
        if self.pulse_name:  # reached by name only; its index is the ``pulse`` device's
            return f"{self.name}{extra}, PulseAudio"
        return f"[{self.index}] {self.name}{extra}, {self.hostapi}"


_alsa_handler = None  # keeps the ctypes callback alive


def _quiet_alsa() -> None:
    """ALSA's library prints lines such as "ALSA lib pcm.c:8570:(snd_pcm_recover) underrun
    occurred" straight to stderr, in the middle of the captions. Route them to a no-op handler;
    PortAudio still reports real failures as errors, and the Speaker counts underflows."""
    global _alsa_handler
    if _alsa_handler is not None:
        return
    import ctypes
    import ctypes.util

    name = ctypes.util.find_library("asound")
    if not name:
        return
    try:
        lib = ctypes.CDLL(name)
        handler_type = ctypes.CFUNCTYPE(None, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_int,
                                        ctypes.c_char_p)
        _alsa_handler = handler_type(lambda *args: None)
        lib.snd_lib_error_set_handler(_alsa_handler)
    except (OSError, AttributeError):
        _alsa_handler = None


def import_sounddevice():
    """``sounddevice``, or MissingDependencyError saying what to install."""
    _quiet_alsa()
    try:
        import sounddevice as sd
    except OSError:  # the package is there, the PortAudio C library is not
        raise MissingDependencyError(
            "the PortAudio library is not installed; it is needed for the microphone and speaker",
            "install it with: apt-get install libportaudio2 (macOS: brew install portaudio)",
        ) from None
    except ImportError:
        raise MissingDependencyError(
            "the Python package 'sounddevice' is not installed; it is needed for live audio",
            "install it with: pip install sounddevice",
        ) from None
    return sd


def list_devices() -> list[DeviceInfo]:
    """Every input and output device PortAudio knows, plus PulseAudio's sinks and sources."""
    sd = import_sounddevice()
    try:
        raw = sd.query_devices()
        hostapis = sd.query_hostapis()
    except sd.PortAudioError as e:
        raise AudioDeviceError(f"PortAudio could not list the audio devices: {e}") from None
    default_in, default_out = _default_indices(sd)
    devices: list[DeviceInfo] = []
    for d in raw:
        api = hostapis[d["hostapi"]]["name"] if 0 <= d["hostapi"] < len(hostapis) else ""
        devices.append(DeviceInfo(
            index=int(d["index"]), name=str(d["name"]),
            max_input_channels=int(d["max_input_channels"]),
            max_output_channels=int(d["max_output_channels"]),
            default_samplerate=float(d["default_samplerate"]),
            is_default_input=d["index"] == default_in, is_default_output=d["index"] == default_out,
            hostapi=api))
    pulse = next((d for d in devices if d.name == "pulse" and d.hostapi == "ALSA"), None)
    if pulse is not None:
        devices.extend(_pulse_devices(pulse))
    return devices


def _default_indices(sd) -> tuple[int, int]:
    found = []
    for kind in ("input", "output"):
        try:
            found.append(int(sd.query_devices(kind=kind)["index"]))
        except (sd.PortAudioError, KeyError, TypeError, ValueError):
            found.append(-1)
    return found[0], found[1]


def _pactl(*args: str) -> str | None:
    exe = shutil.which("pactl")
    if exe is None:
        return None
    try:
        proc = subprocess.run([exe, *args], capture_output=True, text=True, timeout=3)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return proc.stdout if proc.returncode == 0 else None


def _pulse_devices(pulse: DeviceInfo) -> list[DeviceInfo]:
    """Sinks and sources of the running PulseAudio/PipeWire server, via ``pactl`` (empty if none)."""
    defaults = {"sink": "", "source": ""}
    info = _pactl("info")
    for line in (info or "").splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "Default Sink":
            defaults["sink"] = value.strip()
        elif key.strip() == "Default Source":
            defaults["source"] = value.strip()
    out: list[DeviceInfo] = []
    for node in ("sink", "source"):
        for name, description, channels, rate in _pulse_nodes(node):
            is_out = node == "sink"
            out.append(DeviceInfo(
                index=pulse.index, name=name,
                max_input_channels=0 if is_out else channels,
                max_output_channels=channels if is_out else 0,
                # the stream opens on the ALSA ``pulse`` device, so its rate is the one PortAudio
                # reports for that device; the server converts to the node's own rate
                default_samplerate=pulse.default_samplerate,
                is_default_input=not is_out and name == defaults["source"],
                is_default_output=is_out and name == defaults["sink"],
                hostapi="PulseAudio", pulse_name=name, description=description or f"rate {rate} Hz"))
    return out


def _pulse_nodes(node: str) -> list[tuple[str, str, int, int]]:
    """(name, description, channels, rate) of each sink or source."""
    text = _pactl("--format=json", "list", node + "s")
    if text:
        try:
            return [(n["name"], n.get("description", ""), *_parse_spec(n.get("sample_specification", "")))
                    for n in json.loads(text)]
        except (ValueError, KeyError, TypeError):
            pass
    text = _pactl("list", "short", node + "s") or ""  # pactl before 16 has no JSON
    nodes = []
    for line in text.splitlines():
        cols = line.split("\t")
        if len(cols) >= 4:
            nodes.append((cols[1], "", *_parse_spec(cols[3])))
    return nodes


def _parse_spec(spec: str) -> tuple[int, int]:
    channels, rate = 2, 48000
    for word in spec.split():
        if word.endswith("ch") and word[:-2].isdigit():
            channels = int(word[:-2])
        elif word.endswith("Hz") and word[:-2].isdigit():
            rate = int(word[:-2])
    return channels, rate


def resolve_device(spec: str | int | None, kind: Kind, devices: list[DeviceInfo] | None = None) -> DeviceInfo:
    """The device the config names: None = the default, an int = a PortAudio index, a string =
    a case-insensitive part of the name or description (an exact name wins over parts)."""
    if kind not in ("input", "output"):
        raise ValueError(f"kind must be 'input' or 'output', not {kind!r}")
    all_devices = list_devices() if devices is None else devices
    usable = [d for d in all_devices if d.channels(kind) > 0]
    key = CONFIG_KEY[kind]
    if not usable:
        raise AudioDeviceError(
            f"no audio {kind} device was found",
            "there is no sound card or no sound server is reachable; on Linux start PulseAudio or "
            "PipeWire (e.g. 'pulseaudio --start'; in a container also set XDG_RUNTIME_DIR or PULSE_SERVER "
            "to the server's socket) and install libportaudio2 and libasound2-plugins; "
            "or run with files instead of the microphone",
        )
    if spec is None or (isinstance(spec, str) and spec.strip().lower() in ("", "default")):
        pa = [d for d in usable if d.pulse_name is None]
        chosen = next((d for d in pa if getattr(d, f"is_default_{kind}")), None)
        if chosen is None:  # no default: take the ``default`` device, else the first one
            chosen = next((d for d in pa if d.name == "default"), pa[0] if pa else usable[0])
        return chosen
    if isinstance(spec, bool):
        raise AudioDeviceError(f"{key} must be a device name or index, not {spec!r}")
    if isinstance(spec, int) or (isinstance(spec, str) and spec.strip().isdigit()):
        index = int(spec)
        for d in usable:
            if d.index == index and d.pulse_name is None:
                return d
        raise AudioDeviceError(f"there is no audio {kind} device with index {index}",
                               _choices_hint(usable, kind))
    wanted = spec.strip().lower()
    exact = [d for d in usable if d.name.lower() == wanted]
    if len(exact) == 1:
        return exact[0]
    matches = exact or [d for d in usable if wanted in d.name.lower() or wanted in d.description.lower()]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise AudioDeviceError(f"no audio {kind} device matches '{spec}'", _choices_hint(usable, kind))
    raise AudioDeviceError(
        f"'{spec}' matches {len(matches)} audio {kind} devices: " + "; ".join(d.label() for d in matches),
        f"set {key} to a longer part of the name or to the index")


def _choices_hint(devices: list[DeviceInfo], kind: Kind) -> str:
    return (f"set {CONFIG_KEY[kind]} to one of these {kind} devices (index or part of the name): "
            + "; ".join(d.label() for d in devices))


@contextmanager
def stream_routing(device: DeviceInfo, kind: Kind) -> Iterator[None]:
    """While a stream opens on a PulseAudio entry, route it with ``PULSE_SINK``/``PULSE_SOURCE``
    (libpulse reads them when the ALSA plugin connects, i.e. during open); restored afterwards."""
    if device.pulse_name is None:
        yield
        return
    var = "PULSE_SOURCE" if kind == "input" else "PULSE_SINK"
    with _env_lock:
        saved = os.environ.get(var)
        os.environ[var] = device.pulse_name
        try:
            yield
        finally:
            if saved is None:
                os.environ.pop(var, None)
            else:
                os.environ[var] = saved


def describe_open_error(device: DeviceInfo, kind: Kind, error: Exception) -> AudioDeviceError:
    """A one-line AudioDeviceError for a PortAudio failure to open ``device``."""
    reason = str(error).splitlines()[0] if str(error) else type(error).__name__
    return AudioDeviceError(
        f"cannot open the audio {kind} device {device.label()}: {reason}",
        f"check that it is not in use and that the sound server runs, or set {CONFIG_KEY[kind]} "
        "to another device")


def stream_formats(device: DeviceInfo, kind: str, samplerate: int | None, channels: int | None):
    """(rate, channels) to try opening, the device's own first: its default rate, then the
    common ones; its channel count (at most 2), then mono, then stereo."""
    native_ch = max(1, min(device.channels(kind), 2))  # ALSA plugin devices report 32 channels
    rates = [samplerate] if samplerate else [int(device.default_samplerate), 48000, 44100, 16000]
    chans = [channels] if channels else [native_ch, 1, 2]
    seen = set()
    for r in rates:
        for c in chans:
            if r and c and c <= max(device.channels(kind), 1) and (r, c) not in seen:
                seen.add((r, c))
                yield int(r), int(c)


def open_stream(device: DeviceInfo, kind: Kind, samplerate: int | None, channels: int | None,
                block_ms: float, latency: Any, callback: Any, prepare: Any) -> Any:
    """Open and start a PortAudio stream on ``device`` in the first format it accepts (its own
    first), calling ``prepare(rate, channels)`` just before the stream starts. Any failure ends
    as one AudioDeviceError that names the device and what to do."""
    sd = import_sounddevice()
    last_error: Exception | None = None
    for rate, ch in stream_formats(device, kind, samplerate, channels):
        blocksize = max(1, round(rate * block_ms / 1000))
        check = sd.check_input_settings if kind == "input" else sd.check_output_settings
        make = sd.InputStream if kind == "input" else sd.OutputStream
        try:
            with stream_routing(device, kind):
                check(device=device.index, channels=ch, dtype="float32", samplerate=rate)
                stream = make(device=device.index, samplerate=rate, channels=ch, dtype="float32",
                              blocksize=blocksize, latency=latency, callback=callback)
        except (sd.PortAudioError, ValueError) as e:
            last_error = e
            continue
        prepare(rate, ch)
        try:
            stream.start()
        except sd.PortAudioError as e:
            stream.close()
            last_error = e
            continue
        return stream
    raise describe_open_error(device, kind, last_error or AudioDeviceError("no usable format"))
