"""YAML → typed, frozen configuration, validated at start-up.

A config file only lists what differs from the defaults. Each stage section (``stt``, ``llm``)
names a backend from the registry and is validated by that backend's own options class; the
TTS voice map is validated entry by entry the same way. Every problem is collected (not just
the first) and reported with the file, line and key path. ``--set a.b=value`` overrides go
through the same validation and are named as such in errors.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import Field, ValidationError, field_validator

from assistant.audio.guard import SpeechGuard
from assistant.audio.settings import AudioSettings
from assistant.commands.settings import CommandSettings
from assistant.core import registry
from assistant.core.errors import ConfigError
from assistant.core.options import BackendOptions, Section
from assistant.core.server_settings import ServerSettings
from assistant.core.threads import ThreadSettings
from assistant.language.policy import LanguagePolicy
from assistant.llm.history import DEFAULT_SYSTEM_PROMPT, Conversation
from assistant.tts.voices import TTSConfig

# Each section's options live next to the code that uses them; this module loads and validates.
__all__ = ["Config", "Conversation", "DEFAULT_SYSTEM_PROMPT", "LanguagePolicy", "SpeechGuard", "TTSConfig",
           "load_config", "validate"]

DEFAULT_BACKENDS = {"stt": "whisper", "llm": "transformers"}

# Coqui VITS voices with open licences, for languages whose Piper voice is not on this machine
# (see default_voices). Where a Coqui voice can't be had (not cached, no hub) the starter fallback
# gives de/es/fr/it/en to Pico (assistant/models/resolve.py); any other language falls back to
# espeak-ng. The ranking is measured: assistant/tts/quality.py.
DEFAULT_VOICES: dict[str, dict[str, Any]] = {
    "en": {"backend": "coqui", "model": "tts_models/en/ljspeech/vits"},
    "de": {"backend": "coqui", "model": "tts_models/de/thorsten/vits"},
    "es": {"backend": "coqui", "model": "tts_models/es/css10/vits"},
    "fr": {"backend": "coqui", "model": "tts_models/fr/css10/vits"},
    "pt": {"backend": "coqui", "model": "tts_models/pt/cv/vits"},
    "nl": {"backend": "coqui", "model": "tts_models/nl/css10/vits"},
    "it": {"backend": "coqui", "model": "tts_models/it/mai_female/vits"},
    "pl": {"backend": "coqui", "model": "tts_models/pl/mai_female/vits"},
}


def default_voices() -> dict[str, dict[str, Any]]:
    """The voice map when a config sets none: per language the best voice that can run here.

    A Piper voice where its files are present (the starter pack's English voice, or one in the
    Hugging Face cache), else the Coqui voice above; espeak-ng (``tts.fallback``) speaks the rest
    and stands in for any voice that fails to load.
    """
    from assistant.tts.piper import default_voice

    voices = dict(DEFAULT_VOICES)
    for language in voices:
        voices[language] = default_voice(language) or voices[language]
    return voices


_Section = Section


class Logging(_Section):
    path: str | None = Field("turns.jsonl", description="JSONL turn log (one line per turn); null disables it.")


class Output(_Section):
    directory: str = Field("replies", description="Where `assistant chat` keeps reply audio (when save_replies).")
    save_replies: bool = Field(False, description="Save each spoken reply as a WAV file in `directory`.")


@dataclass(frozen=True)
class Config:
    stt: BackendOptions
    llm: BackendOptions
    tts: TTSConfig
    language: LanguagePolicy
    conversation: Conversation
    guard: SpeechGuard
    log: Logging
    output: Output
    audio: AudioSettings
    server: ServerSettings = ServerSettings()
    threads: ThreadSettings = ThreadSettings()
    source: str = "<defaults>"
    commands: CommandSettings = CommandSettings()

    def to_dict(self) -> dict[str, Any]:
        dump = lambda m: m.model_dump(mode="json")  # noqa: E731
        return {
            "stt": dump(self.stt),
            "llm": dump(self.llm),
            "tts": {
                "voices": {k: dump(v) for k, v in self.tts.voices.items()},
                "fallback": dump(self.tts.fallback) if self.tts.fallback else None,
                "espeak_fallback": self.tts.espeak_fallback,
            },
            "language": dump(self.language),
            "conversation": dump(self.conversation),
            "guard": dump(self.guard),
            "log": dump(self.log),
            "output": dump(self.output),
            "audio": dump(self.audio),
            "server": dump(self.server),
            "threads": dump(self.threads),
            "commands": dump(self.commands),
        }


class _TopLevel(_Section):
    language: LanguagePolicy = LanguagePolicy()
    conversation: Conversation = Conversation()
    guard: SpeechGuard = SpeechGuard()
    log: Logging = Logging()
    output: Output = Output()
    audio: AudioSettings = AudioSettings()
    server: ServerSettings = ServerSettings()
    threads: ThreadSettings = ThreadSettings()
    commands: CommandSettings = CommandSettings()

    @field_validator("language")
    @classmethod
    def _codes(cls, v: LanguagePolicy) -> LanguagePolicy:
        from assistant.language.names import check_code

        for code in (*v.languages, v.default):
            check_code(code)
        if v.reply_language != "same":
            check_code(v.reply_language)
        return v


STAGE_KEYS = ("stt", "llm", "tts")


# ----------------------------------------------------------------------------- loading


class _Lines:
    """Maps a key path to its line in the YAML source, for error messages."""

    def __init__(self, text: str | None) -> None:
        self.root = None
        if text:
            try:
                self.root = yaml.compose(text)
            except yaml.YAMLError:
                self.root = None

    def line(self, path: tuple[Any, ...]) -> int | None:
        node, best = self.root, None
        if node is None:
            return None
        best = node.start_mark.line + 1
        for key in path:
            if isinstance(node, yaml.MappingNode):
                for k, v in node.value:
                    if k.value == str(key):
                        best, node = k.start_mark.line + 1, v
                        break
                else:
                    return best
            elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
                node = node.value[key]
                best = node.start_mark.line + 1
            else:
                return best
        return best


MAX_CONFIG_BYTES = 1_000_000  # a config is a few kB; anything this big is a mistake or an attack
MAX_YAML_NODES = 100_000  # values after expanding aliases ("billion laughs" expands to 10^9)
MAX_YAML_DEPTH = 64  # a config is nested 4-5 levels deep


class _BoundedLoader(yaml.SafeLoader):
    """SafeLoader that refuses a document whose aliases expand to more than MAX_YAML_NODES values,
    or that refers to itself, before building it: otherwise a few lines of anchors and aliases
    become billions of objects when the config is validated or printed."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        # Depth is checked while composing: PyYAML's recursion and its scanner slow down sharply
        # with depth (1500 nested brackets take 20 s), so a deep document is refused early.
        self._depth = getattr(self, "_depth", 0) + 1
        try:
            if self._depth > MAX_YAML_DEPTH:
                raise yaml.YAMLError(f"it is nested more than {MAX_YAML_DEPTH} levels deep")
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_document(self, node: yaml.Node) -> Any:
        _check_expansion(node)
        return super().construct_document(node)


def _check_expansion(root: yaml.Node) -> None:
    sizes: dict[int, int] = {}
    active: set[int] = set()

    def size(node: yaml.Node) -> int:
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in active:
            raise yaml.YAMLError("an alias refers to the value that contains it (a recursive structure)")
        active.add(key)
        total = 1
        if isinstance(node, yaml.SequenceNode):
            total += sum(size(child) for child in node.value)
        elif isinstance(node, yaml.MappingNode):
            total += sum(size(k) + size(v) for k, v in node.value)
        active.discard(key)
        if total > MAX_YAML_NODES:
            raise yaml.YAMLError(f"aliases expand it to more than {MAX_YAML_NODES:,} values "
                                 "(an alias bomb?); write the values out instead")
        sizes[key] = total
        return total

    size(root)


def _yaml_load(text: str) -> Any:
    """``yaml.safe_load`` with bounded alias expansion and nesting (raises yaml.YAMLError)."""
    try:
        return yaml.load(text, Loader=_BoundedLoader)  # noqa: S506 - a SafeLoader subclass
    except RecursionError:
        raise yaml.YAMLError("it is nested too deeply") from None


def _read_yaml(path: Path) -> tuple[dict[str, Any], str]:
    if not path.exists():
        raise ConfigError([f"config file not found: {path}"], "check the path given to --config")
    if path.is_dir():
        raise ConfigError([f"config file {path} is a directory"], "give --config a YAML file")
    try:
        if path.stat().st_size > MAX_CONFIG_BYTES:
            raise ConfigError([f"config file {path} is {path.stat().st_size:,} bytes; a config is at most "
                               f"{MAX_CONFIG_BYTES:,}"], "is this the right file?")
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError([f"cannot read config file {path}: {e}"]) from None
    try:
        data = _yaml_load(text)
    except yaml.YAMLError as e:
        if not isinstance(e, yaml.MarkedYAMLError):  # refused by _BoundedLoader
            raise ConfigError([f"{path}: refused: {e}"]) from None
        mark = getattr(e, "problem_mark", None)
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        context = getattr(e, "context", None)
        raise ConfigError([f"{where}: YAML syntax error: {problem}" + (f" ({context})" if context else "")],
                          "fix the YAML at that line") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError([f"{path}: the top level must be a mapping of sections (stt:, llm:, tts:, ...)"])
    return data, text


def parse_override(item: str) -> tuple[tuple[str, ...], Any]:
    """``stt.model=small`` → (("stt", "model"), "small"); values are parsed as YAML scalars/lists."""
    key, sep, value = item.partition("=")
    if not sep or not key.strip():
        raise ConfigError([f"--set {item!r}: expected KEY=VALUE, e.g. --set stt.model=small"])
    try:
        parsed = _yaml_load(value) if value.strip() else ""
    except yaml.YAMLError as e:
        if "alias" in str(e) or "nested" in str(e):
            raise ConfigError([f"--set {key.strip()}: {e}"]) from None
        parsed = value
    return tuple(p for p in key.strip().split(".")), parsed


def _apply_override(data: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    node = data
    for i, part in enumerate(path[:-1]):
        nxt = node.get(part)
        if nxt is None:
            nxt = node[part] = {}
        if not isinstance(nxt, dict):
            raise ConfigError([f"--set {'.'.join(path)}: '{'.'.join(path[:i + 1])}' is not a section"])
        node = nxt
    node[path[-1]] = value


def _fmt_loc(loc: tuple[Any, ...]) -> str:
    return ".".join(str(p) for p in loc)


def _describe(err: dict[str, Any]) -> str:
    msg = err["msg"]
    if err["type"] == "extra_forbidden":
        msg = "unknown key"
    elif err["type"] == "literal_error":
        msg = msg.replace("Input should be", "must be")
    if err["type"] not in ("missing", "extra_forbidden") and "input" in err:
        shown = err["input"]
        if not isinstance(shown, (dict, list)):
            msg += f" (got {shown!r})"
    return msg


class _Problems:
    def __init__(self, source: str, lines: _Lines, overrides: set[tuple[str, ...]]) -> None:
        self.source, self.lines, self.overrides, self.items = source, lines, overrides, []

    def add(self, loc: tuple[Any, ...], message: str) -> None:
        for o in self.overrides:
            if tuple(loc[: len(o)]) == o or tuple(o[: len(loc)]) == tuple(loc):
                self.items.append(f"--set {_fmt_loc(o)}: {_fmt_loc(loc)}: {message}")
                return
        line = self.lines.line(loc)
        where = f"{self.source}:{line}" if line and self.source != "<defaults>" else self.source
        self.items.append(f"{where}: {_fmt_loc(loc)}: {message}")

    def add_validation(self, prefix: tuple[Any, ...], error: ValidationError) -> None:
        for err in error.errors():
            self.add(prefix + tuple(err["loc"]), _describe(err))


def _backend_options(kind: str, raw: Any, loc: tuple[Any, ...], problems: _Problems,
                     default_backend: str | None) -> BackendOptions | None:
    if raw is None:
        raw = {}
    if isinstance(raw, str):  # shorthand: "stt: whisper"
        raw = {"backend": raw}
    if not isinstance(raw, dict):
        problems.add(loc, f"must be a mapping with a 'backend' key (got {raw!r})")
        return None
    name = raw.get("backend", default_backend)
    if name is None:
        problems.add(loc + ("backend",), f"missing; choose one of: {', '.join(registry.names(kind))}")
        return None
    if name not in registry.BACKENDS[kind]:
        problems.add(loc + ("backend",),
                     f"unknown {kind} backend '{name}' (valid: {', '.join(registry.names(kind))})")
        return None
    try:
        return registry.get(kind, name).options_class().model_validate({**raw, "backend": name})
    except ValidationError as e:
        problems.add_validation(loc, e)
        return None


def _tts_config(raw: Any, problems: _Problems) -> TTSConfig | None:
    raw = {} if raw is None else raw
    if not isinstance(raw, dict):
        problems.add(("tts",), "must be a mapping (voices:, fallback:, espeak_fallback:)")
        return None
    unknown = set(raw) - {"voices", "fallback", "espeak_fallback"}
    for key in sorted(unknown):
        problems.add(("tts", key), "unknown key (valid: voices, fallback, espeak_fallback)")
    voices_raw = raw["voices"] if "voices" in raw else default_voices()
    voices: dict[str, BackendOptions] = {}
    if voices_raw is None:
        voices_raw = {}
    if not isinstance(voices_raw, dict):
        problems.add(("tts", "voices"), "must map language codes to voices, e.g. de: {backend: coqui, model: ...}")
        voices_raw = {}
    from assistant.language.names import is_code

    for lang, spec in voices_raw.items():
        if not is_code(str(lang)):
            problems.add(("tts", "voices", lang), "not a language code Whisper knows (e.g. en, de, zh)")
            continue
        opts = _backend_options("tts", spec, ("tts", "voices", lang), problems, None)
        if opts is not None:
            voices[str(lang)] = opts
    fallback = None
    if raw.get("fallback", "espeak") is not None:
        fallback = _backend_options("tts", raw.get("fallback", {"backend": "espeak"}), ("tts", "fallback"),
                                    problems, None)
    espeak_fallback = raw.get("espeak_fallback", True)
    if not isinstance(espeak_fallback, bool):
        problems.add(("tts", "espeak_fallback"), f"must be true or false (got {espeak_fallback!r})")
        espeak_fallback = True
    return TTSConfig(voices=voices, fallback=fallback, espeak_fallback=espeak_fallback)


def validate(data: dict[str, Any], source: str = "<defaults>", text: str | None = None,
             overrides: set[tuple[str, ...]] | None = None) -> Config:
    problems = _Problems(source, _Lines(text), overrides or set())
    stt = _backend_options("stt", data.get("stt"), ("stt",), problems, DEFAULT_BACKENDS["stt"])
    llm = _backend_options("llm", data.get("llm"), ("llm",), problems, DEFAULT_BACKENDS["llm"])
    tts = _tts_config(data.get("tts"), problems)
    rest = {k: v for k, v in data.items() if k not in STAGE_KEYS}
    top = None
    try:
        top = _TopLevel.model_validate(rest)
    except ValidationError as e:
        problems.add_validation((), e)
    except ConfigError as e:  # language code checks raise ConfigError with their own text
        for p in e.problems:
            problems.add(("language",), p)
    if problems.items:
        raise ConfigError(problems.items)
    assert stt and llm and tts and top
    return Config(stt=stt, llm=llm, tts=tts, language=top.language, conversation=top.conversation,
                  guard=top.guard, log=top.log, output=top.output, audio=top.audio, server=top.server,
                  threads=top.threads, commands=top.commands,
                  source=source)


def load_config(path: str | Path | None = None, overrides: list[str] | tuple[str, ...] = ()) -> Config:
    """Load ``path`` (or the built-in defaults), apply ``--set`` overrides, validate everything."""
    data: dict[str, Any] = {}
    text = None
    source = "<defaults>"
    if path is not None:
        data, text = _read_yaml(Path(path))
        source = str(path)
    override_paths: set[tuple[str, ...]] = set()
    parsed = [parse_override(item) for item in overrides]
    # A backend switch comes first and starts that stage from the new backend's defaults:
    # the file's options for the old backend would be unknown keys to the new one.
    parsed.sort(key=lambda kv: kv[0] != (kv[0][0], "backend"))
    for key, value in parsed:
        if key[0] in ("stt", "llm"):
            section = data.get(key[0])
            if isinstance(section, str):
                section = data[key[0]] = {"backend": section}
            if key == (key[0], "backend") and isinstance(section, dict) and section.get(
                    "backend", DEFAULT_BACKENDS[key[0]]) != value:
                data[key[0]] = {}
        _apply_override(data, key, value)
        override_paths.add(key)
    return validate(data, source, text, override_paths)


def dump_yaml(config: Config) -> str:
    return yaml.safe_dump(config.to_dict(), sort_keys=False, allow_unicode=True)
