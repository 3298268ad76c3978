"""Print the YAML reference (every backend's options and every section) as Markdown.

    python scripts/config_reference.py            # print
    python scripts/config_reference.py --write    # update docs/configuration.md between the markers

Generated from the options classes themselves, so the reference can't drift from the code
(tests/test_readme.py checks it is current).
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from assistant.audio.settings import AudioSettings  # noqa: E402
from assistant.commands.settings import CommandSettings  # noqa: E402
from assistant.config import Conversation, LanguagePolicy, Logging, Output, SpeechGuard  # noqa: E402
from assistant.core import registry  # noqa: E402
from assistant.core.server_settings import ServerSettings  # noqa: E402
from assistant.core.threads import ThreadSettings  # noqa: E402

BEGIN, END = "<!-- config-reference:begin -->", "<!-- config-reference:end -->"


def _default(field) -> str:
    if field.is_required():
        return "*required*"
    value = field.default_factory() if field.default_factory is not None else field.default
    if value is None:
        return "`null`"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, str) and len(value) > 40:
        return "(see below)" if "\n" in value else f"`{value[:37]}…`"
    if isinstance(value, tuple):
        return f"`{list(value)}`"
    return f"`{value}`"


def table(model) -> str:
    rows = ["| key | default | meaning |", "|---|---|---|"]
    for name, field in model.model_fields.items():
        if name == "backend":
            continue
        desc = (field.description or "").replace("|", "\\|").replace("\n", " ")
        rows.append(f"| `{name}` | {_default(field)} | {desc} |")
    return "\n".join(rows)


def reference() -> str:
    out: list[str] = []
    for kind, title in (("stt", "Speech to text (`stt:`)"), ("llm", "Language model (`llm:`)"),
                        ("tts", "Voices (`tts.voices.<language>:` and `tts.fallback:`)")):
        out.append(f"### {title}\n")
        for name in registry.names(kind):
            b = registry.BACKENDS[kind][name]
            module = b.target.partition(":")[0].replace(".", "/") + ".py"
            out.append(f"#### `backend: {name}` — [{module}](../{module})\n")
            out.append(table(b.options_class()) + "\n")
    for key, model in (("language", LanguagePolicy), ("conversation", Conversation), ("guard", SpeechGuard),
                       ("audio", AudioSettings), ("commands", CommandSettings), ("log", Logging), ("output", Output),
                       ("server", ServerSettings),
                       ("threads", ThreadSettings)):
        out.append(f"### `{key}:`\n")
        out.append(table(model) + "\n")
    return "\n".join(out).strip() + "\n"


def main() -> int:
    text = reference()
    if "--write" in sys.argv:
        page = Path(__file__).resolve().parents[1] / "docs" / "configuration.md"
        body = page.read_text()
        a, b = body.index(BEGIN) + len(BEGIN), body.index(END)
        page.write_text(body[:a] + "\n" + text + body[b:])
    else:
        print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
