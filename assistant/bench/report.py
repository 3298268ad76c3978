"""The benchmark's output: rich tables on the terminal, and the same numbers as JSON."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table

#: Bumped when the JSON layout changes, so stored results can be compared safely.
SCHEMA_VERSION = 1


def _table(title: str, columns: tuple[str, ...]) -> Table:
    t = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
    for i, col in enumerate(columns):
        t.add_column(col, justify="left" if i == 0 else "right", no_wrap=i == 0)
    return t


def _median(stat: dict[str, float] | None, scale: float = 1.0, digits: int = 3) -> str:
    return f"{stat['median'] * scale:.{digits}f}" if stat else "-"


def _range(stat: dict[str, float], scale: float = 1.0, digits: int = 3) -> str:
    return f"{stat['min'] * scale:.{digits}f}–{stat['max'] * scale:.{digits}f}"


def _tokens(tokens: dict[str, Any], decoded: str) -> str:
    return decoded if tokens["match"] else f"{decoded} (≠{tokens['expected']})"


def stt_tables(result: dict[str, Any]) -> list[Table]:
    tables = []
    audio = ", ".join(a["name"] for a in result["audio"])
    for size in result["sizes"]:
        decoding = "greedy" if size.get("beam_size", 1) == 1 else f"beam {size['beam_size']}"
        t = _table(f"STT, {size['size']} architecture, {decoding}, {size['tokens_per_window']} tokens/window, "
                   f"{size['audio_seconds']:.1f} s of audio ({audio}); speed-up vs {size['reference']} "
                   f"(ratio of medians; of best passes); same = identical tokens (else % agreeing); "
                   f"encoder s ×n = one encoder pass over a 30 s window × passes in the run; "
                   f"rest = the remaining time per decoded token",
                   ("backend", "load s", "median s", "min–max s", "RTF", "speed-up", "best", "tokens", "same",
                    "encoder s ×n", "encoder %", "rest ms/token"))
        for r in size["backends"]:
            same = "yes" if r["same_tokens_as_reference"] else f"{100 * (r['token_agreement'] or 0):.0f}%"
            decoded = _tokens(r["tokens"], str(r["tokens"]["decoded"]))
            b = r["breakdown"]
            per_token = "-" if b["rest_ms_per_token"] is None else f"{b['rest_ms_per_token']:.1f}"
            t.add_row(r["name"], f"{r['load_s']:.2f}", _median(r["wall_s"]), _range(r["wall_s"]),
                      _median(r["rtf"]), f"{r['speedup']:.2f}×", f"{r['speedup_best']:.2f}×", decoded, same,
                      f"{_median(b['encoder_pass_s'])} ×{b['encoder_passes']}", f"{100 * b['encoder_share']:.0f}",
                      per_token)
        tables.append(t)
    return tables


def llm_table(r: dict[str, Any]) -> Table:
    t = _table(f"LLM ({r['parameters'] / 1e6:.1f} M parameters, {r['prompt_tokens']}-token prompt)",
               ("backend", "load s", "first token ms", "min–max ms", "tokens/s", "tokens"))
    decoded = ",".join(str(n) for n in sorted(set(r["tokens"]["decoded"])))
    t.add_row(r["name"], f"{r['load_s']:.2f}", _median(r["ttft_s"], 1000, 0), _range(r["ttft_s"], 1000, 0),
              _median(r["tokens_per_s"], 1, 1), _tokens(r["tokens"], decoded))
    return t


def tts_table(result: dict[str, Any]) -> Table:
    t = _table(f"TTS ({len(result['sentence'])}-character sentence)",
               ("voice", "load s", "cold first ms", "first audio ms", "min–max ms", "RTF", "audio s"))
    for r in result["voices"]:
        if "skipped" in r:
            t.add_row(r["name"], "-", "", f"skipped: {r['skipped'][:60]}", "", "", "")
            continue
        t.add_row(r["name"], f"{r['load_s']:.2f}", f"{r['cold_first_audio_s'] * 1000:.0f}",
                  _median(r["first_audio_s"], 1000, 0),
                  _range(r["first_audio_s"], 1000, 0), _median(r["rtf"]), f"{r['audio_s']:.2f}")
    return t


def turn_table(r: dict[str, Any]) -> Table:
    t = _table(f"One turn, end of speech → first audio ({r['audio']}, {r['audio_seconds']:.1f} s): "
               f"{r['stt']['name']} {r['stt']['size']} → LLM {r['llm']['size']} ({r['llm']['tokens']} tokens) "
               f"→ {r['tts']['name']}",
               ("STT ms", "LLM 1st token ms", "LLM sentence ms", "TTS 1st audio ms", "total ms"))
    t.add_row(*(_median(r[k], 1000, 0) for k in ("stt_s", "llm_first_token_s", "llm_first_sentence_s",
                                                 "tts_first_audio_s", "total_s")))
    return t


def print_report(results: dict[str, Any], console: Console) -> None:
    if not console.is_terminal:  # a file or pipe: don't squeeze the tables into 80 columns
        console = Console(file=console.file, highlight=False, width=190)
    tables: list[Table] = []
    if "stt" in results:
        tables += stt_tables(results["stt"])
    if "llm" in results:
        tables.append(llm_table(results["llm"]))
    if "tts" in results:
        tables.append(tts_table(results["tts"]))
    if "turn" in results:
        tables.append(turn_table(results["turn"]))
    for table in tables:
        console.print(table)
    if results.get("quick"):
        console.print("[dim]--quick: test-size random-weight models, one pass: this checks the command works; "
                      "its timings say nothing about real models.[/]")
    else:
        console.print("[dim]Random-weight models at real sizes: the timings are real, the text and audio are "
                      "noise. RTF = compute time / audio time (lower is faster).[/]")


def write_json(results: dict[str, Any], path: str | Path) -> Path:
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    from assistant.core.paths import write_text_atomic

    return write_text_atomic(p, json.dumps(results, indent=2, ensure_ascii=False) + "\n")
