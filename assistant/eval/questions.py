"""The spoken questions of ``assistant eval conversation``: package data, one YAML file per
language (``assistant/eval/data/questions/<lang>.yaml``), each question with the answer keywords
accepted in that language (``a: [sieben, "7"]``)."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources

from assistant.core.errors import ConfigError

PACKAGE = "assistant.eval.data.questions"


@dataclass(frozen=True)
class Question:
    language: str
    number: int  # 1-based position in its file
    text: str
    answers: tuple[str, ...]  # accepted keywords: any of them, as whole words, makes a reply correct

    @property
    def id(self) -> str:
        return f"{self.language}-{self.number:02d}"


def available_languages() -> list[str]:
    """The languages that have a question file."""
    folder = resources.files(PACKAGE)
    return sorted(p.name[: -len(".yaml")] for p in folder.iterdir() if p.name.endswith(".yaml"))


def check_languages(requested: list[str] | None) -> list[str]:
    """``requested`` (all available when None), or a ``ConfigError`` naming the unknown ones."""
    available = available_languages()
    if not requested:
        return available
    unknown = [lang for lang in requested if lang not in available]
    if unknown:
        raise ConfigError([f"no questions for {', '.join(unknown)} (eval conversation has: {', '.join(available)})"])
    return list(dict.fromkeys(requested))


def load_questions(language: str, limit: int | None = None) -> list[Question]:
    """The questions of ``language`` in file order (the first ``limit`` of them)."""
    import yaml

    check_languages([language])
    text = resources.files(PACKAGE).joinpath(f"{language}.yaml").read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    if not isinstance(data, dict) or data.get("language") != language or not isinstance(data.get("questions"), list):
        raise ConfigError([f"questions/{language}.yaml: expected 'language: {language}' and a 'questions' list"])
    out = []
    for i, item in enumerate(data["questions"], 1):
        q, a = (item.get("q"), item.get("a")) if isinstance(item, dict) else (None, None)
        if not isinstance(q, str) or not q.strip() or not isinstance(a, list) or not a \
                or not all(isinstance(k, str) and k.strip() for k in a):
            raise ConfigError([f"questions/{language}.yaml: question {i} needs a text 'q' and a list of answers 'a'"])
        out.append(Question(language, i, q.strip(), tuple(k.strip() for k in a)))
    return out[:limit] if limit else out
