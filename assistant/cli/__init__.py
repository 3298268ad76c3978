"""Command line: ``assistant <command>``. Each command lives in its own module here.

User errors (AssistantError) print one readable line and exit non-zero, never a traceback.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from typing import Callable

from assistant import __version__
from assistant.core.errors import AssistantError

_command: str | None = None  # the command main() ran last (entry() treats chat specially)

# command name → "module:function(subparsers)" that adds it
COMMANDS = [
    "assistant.cli.files:add_respond",
    "assistant.cli.files:add_transcribe",
    "assistant.cli.files:add_say",
    "assistant.cli.config_cmd:add_config",
    "assistant.cli.languages:add_languages",
    "assistant.cli.live:add_chat",
    "assistant.cli.live:add_devices",
    "assistant.cli.bench:add_bench",
    "assistant.cli.models:add_models",
    "assistant.cli.doctor:add_doctor",
    "assistant.cli.serve:add_serve",
    "assistant.cli.eval:add_eval",
]


def add_config_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", "-c", metavar="FILE", help="YAML config (default: built-in defaults)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config value, e.g. --set stt.model=small (repeatable)")


def build_parser() -> argparse.ArgumentParser:
    import importlib

    parser = argparse.ArgumentParser(
        prog="assistant",
        description="Voice-to-voice assistant: Whisper → multilingual LLM → Coqui TTS, configured in YAML.")
    parser.add_argument("--version", action="version", version=f"assistant {__version__}")
    parser.add_argument("--debug", action="store_true", help="show library logs and tracebacks")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for ref in COMMANDS:
        module, _, func = ref.partition(":")
        getattr(importlib.import_module(module), func)(sub)
    return parser


def _quiet_libraries(debug: bool) -> None:
    logging.basicConfig(level=logging.DEBUG if debug else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if not debug:
        os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        import warnings

        warnings.filterwarnings("ignore")
        for name in ("TTS", "transformers", "huggingface_hub", "numba", "urllib3", "httpx", "trainer"):
            logging.getLogger(name).setLevel(logging.ERROR)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help()
        return 2
    _quiet_libraries(args.debug)
    global _command
    _command = args.command
    handler: Callable[[argparse.Namespace], int] = args.handler
    previous = _terminate_as_interrupt()
    try:
        return handler(args) or 0
    except AssistantError as e:
        from assistant.cli.output import print_error

        print_error(e)
        return e.exit_code
    except Terminated:
        print("stopped (SIGTERM)", file=sys.stderr)
        return TERMINATED_EXIT
    except KeyboardInterrupt:
        print("stopped", file=sys.stderr)
        return 130
    except Exception as e:  # a bug, not a user error: short message unless --debug
        if args.debug:
            raise
        from assistant.core.secrets import redact

        print(redact(f"error: internal error: {type(e).__name__}: {e} (run with --debug for the traceback)"),
              file=sys.stderr)
        return 70
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


TERMINATED_EXIT = 143  # 128 + SIGTERM, as a shell reports a process SIGTERM ended


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread like Ctrl-C: the turn in progress is logged as
    interrupted and no partial output is left (``chat`` installs its own handler)."""


def _terminate_as_interrupt():
    import threading

    if threading.current_thread() is not threading.main_thread():
        return None

    def on_term(signum, frame):
        raise Terminated()

    return signal.signal(signal.SIGTERM, on_term)


def entry() -> None:
    """The console script. After `assistant chat` has closed its devices and written its log,
    the process ends at once: unloading torch, CTranslate2 and onnxruntime at interpreter exit
    takes about a second, and Ctrl-C must stop the assistant within one."""
    import sys as _sys

    code = main(_sys.argv[1:])
    if _command == "chat" or code in (130, TERMINATED_EXIT):  # (interrupted: the turn log line is written;
        _sys.stdout.flush()                                  # a model thread still working is not waited for)
        _sys.stderr.flush()
        os._exit(code)
    raise SystemExit(code)
