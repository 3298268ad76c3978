"""`assistant serve`: the assistant over HTTP and WebSocket (see assistant/modes/server/)."""

from __future__ import annotations

import argparse

from assistant.cli import add_config_args


def add_serve(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("serve", help="serve the OpenAI Realtime (WebSocket) and audio endpoints",
                       description="Serve /v1/realtime (a subset of OpenAI's Realtime protocol), "
                                   "/v1/audio/transcriptions and /v1/audio/speech. Loopback by default.")
    p.add_argument("--host", help="address to listen on (default: server.host, 127.0.0.1)")
    p.add_argument("--port", type=int, help="TCP port (default: server.port, 8000)")
    add_config_args(p)
    p.set_defaults(handler=run_serve)


def run_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from assistant.config import load_config
    from assistant.modes.file import Assistant
    from assistant.modes.server.app import create_app

    overrides = list(args.overrides)
    if args.host:
        overrides.append(f"server.host={args.host}")
    if args.port:
        overrides.append(f"server.port={args.port}")
    config = load_config(args.config, overrides)
    bot = Assistant.from_config(config=config)
    bot.load()
    # the framework's own WebSocket limit sits well above the app's, so that the app can answer a
    # message over server.max_message_bytes with an error event instead of a bare close
    ws_max = max(16 * 2**20, 4 * config.server.max_message_bytes)
    app = create_app(bot)
    server = _make_server_class()(uvicorn.Config(app, host=config.server.host, port=config.server.port,
                                                 log_level="warning", ws_max_size=ws_max))
    server.sessions = app.state.sessions
    server.run()
    return 0


def _make_server_class():
    import uvicorn

    class Server(uvicorn.Server):
        """Ctrl-C or SIGTERM: every session's turn is cancelled, and once the running turns have
        written their log lines (or after a moment) the process ends; uvicorn alone would wait for
        the turns' model calls to return, seconds on a busy machine."""

        sessions: set = set()

        def handle_exit(self, sig, frame) -> None:
            import signal
            import threading

            for session in list(self.sessions):
                session.close()
            code = 143 if sig == signal.SIGTERM else 130
            threading.Thread(target=_exit_when_logged, args=(self.sessions, code), daemon=True).start()
            super().handle_exit(sig, frame)

    return Server


def _exit_when_logged(sessions, code: int, wait_s: float = 0.5) -> None:
    import os
    import sys
    import time

    deadline = time.monotonic() + wait_s
    while any(s.running for s in list(sessions)) and time.monotonic() < deadline:
        time.sleep(0.01)
    print("stopped (SIGTERM)" if code == 143 else "stopped", file=sys.stderr)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)

