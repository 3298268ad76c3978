"""`assistant serve` with the starter models, measured over the socket with the official client.

    python3 scripts/measure_serve.py [--turns 5] [--sessions 20]

1. latency   end of speech (the client's `input_audio_buffer.commit` of a recorded question)
             → first `response.output_audio.delta` received; median of N turns.
2. sessions  N realtime connections at once, each sending one text message: per-turn wall time
             (response.create → response.done) distribution, and all N completed or not.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import statistics
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def start_server():
    import uvicorn

    from assistant.config import load_config
    from assistant.models import starter, starter_dir
    from assistant.modes.file import Assistant
    from assistant.modes.server.app import create_app
    from tests.modes.server.test_server import free_port

    root = starter_dir()
    hf = root / starter.LLM_HF
    llm = hf if (hf / "config.json").is_file() else root / starter.LLM_GGUF
    cfg = load_config(None, [
        f"stt={{backend: faster-whisper, model: {root / starter.WHISPER_CT2}, compute_type: int8, beam_size: null}}",
        f"llm={{backend: transformers, model: {llm}, max_new_tokens: 32, temperature: 0}}",
        f"tts={{voices: {{en: {{backend: piper, model: {root / starter.PIPER_VOICE}}}}}, "
        "fallback: {backend: espeak}}",
        "language={check_reply: false, languages: [en]}", "log.path=/tmp/measure-serve-turns.jsonl",
        "server.max_sessions=64"])
    bot = Assistant.from_config(config=cfg)
    bot.load()
    port = free_port()
    srv = uvicorn.Server(uvicorn.Config(create_app(bot), host="127.0.0.1", port=port, log_level="warning"))
    threading.Thread(target=srv.run, daemon=True).start()
    while not srv.started:
        time.sleep(0.05)
    return f"127.0.0.1:{port}"


def latency(address: str, turns: int) -> list[float]:
    import openai

    from tests.modes.server.test_server import pcm24
    from tests.support.shared import shared_audio

    audio = pcm24(shared_audio("fleurs", "fleurs-en-004.ogg"))
    client = openai.OpenAI(api_key="unused", base_url=f"http://{address}/v1", max_retries=0, timeout=300)
    out = []
    for _ in range(turns):
        with client.realtime.connect(model="assistant") as conn:
            conn.recv()
            conn.session.update(session={"type": "realtime", "audio": {"input": {"turn_detection": None}}})
            conn.recv()
            for i in range(0, len(audio), 48000):
                conn.input_audio_buffer.append(audio=base64.b64encode(audio[i:i + 48000]).decode())
            conn.input_audio_buffer.commit()
            t0, first = time.monotonic(), None
            while True:
                event = conn.recv()
                if event.type == "response.output_audio.delta" and first is None:
                    first = time.monotonic() - t0
                if event.type == "response.done":
                    break
        out.append(first * 1000)
        print(f"  end of speech → first audio delta: {first * 1000:.0f} ms "
              f"({event.response.metadata.get('timings_ms')})")
    return out


async def sessions(address: str, n: int) -> list[float]:
    import openai

    client = openai.AsyncOpenAI(api_key="unused", base_url=f"http://{address}/v1", max_retries=0, timeout=600)

    async def one(i: int) -> float:
        async with client.realtime.connect(model="assistant") as conn:
            await conn.recv()
            await conn.conversation.item.create(item={"type": "message", "role": "user", "content": [
                {"type": "input_text", "text": f"What is {i} plus {i}?"}]})
            t0 = time.monotonic()
            await conn.response.create()
            while (event := await conn.recv()).type != "response.done":
                pass
            assert event.response.status == "completed", event.response.status
            return time.monotonic() - t0

    return list(await asyncio.gather(*(one(i) for i in range(n))))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--turns", type=int, default=5)
    ap.add_argument("--sessions", type=int, default=20)
    args = ap.parse_args()
    address = start_server()
    lat = latency(address, args.turns)
    print(f"latency: median {statistics.median(lat):.0f} ms, min {min(lat):.0f}, max {max(lat):.0f} "
          f"over {len(lat)} turns")
    t0 = time.monotonic()
    times = sorted(asyncio.run(sessions(address, args.sessions)))
    q = statistics.quantiles(times, n=10)
    print(f"{args.sessions} sessions at once, all completed in {time.monotonic() - t0:.1f} s; turn time "
          f"min {times[0]:.1f} s, median {statistics.median(times):.1f} s, p90 {q[-1]:.1f} s, max {times[-1]:.1f} s")


if __name__ == "__main__":
    main()
