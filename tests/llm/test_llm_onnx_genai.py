"""The onnxruntime-genai LLM backend: one KV cache per conversation, kept between turns.

A tiny random Qwen2 model is converted (fp32) by ONNX Runtime GenAI's own builder, through the
same code users run; every cached reply is compared with the same prompt decoded from scratch.
"""

from __future__ import annotations

import pytest

from assistant.core.errors import StageError
from assistant.core.types import Message

pytest.importorskip("onnxruntime_genai")
pytest.importorskip("onnx_ir")

from assistant.llm.onnx_genai import OnnxGenAILLM, common_prefix  # noqa: E402

SYSTEM = Message("system", "You are a helpful voice assistant.")
QUESTIONS = ["Hallo, wie geht es dir?", "What is the weather like today?", "Tell me a story about a cat.",
             "Where is the station?", "How old is the moon?"]


class Recorder:
    """Stands in for a generator and notes how many tokens each append_tokens prefilled."""

    def __init__(self, generator, log: list[int]) -> None:
        self._g, self._log = generator, log

    def __getattr__(self, name):
        return getattr(self._g, name)

    def append_tokens(self, tokens):
        self._log.append(len(tokens))
        return self._g.append_tokens(tokens)


@pytest.fixture(scope="module")
def converted(tiny_llm_path, tmp_path_factory):
    llm = OnnxGenAILLM(model=str(tiny_llm_path), precision="fp32",
                       converted_dir=str(tmp_path_factory.mktemp("genai")))
    return llm.convert()


def make(converted, **kw):
    kw = {"temperature": 0, "max_new_tokens": 12, "cpu_threads": 1, **kw}
    llm = OnnxGenAILLM(model=str(converted), **kw)
    llm.load()
    llm.prefills = []
    new = llm._new_generator
    llm._new_generator = lambda: Recorder(new(), llm.prefills)
    return llm


def reply(llm, messages, session=None) -> str:
    return "".join(llm.stream(messages, session=session))


def fresh(converted, messages, **kw) -> str:
    """The reply with no cache at all: a new backend, one full prefill."""
    return reply(make(converted, **kw), messages)


def conversation(turns: list[tuple[str, str]], question: str) -> list[Message]:
    msgs = [SYSTEM]
    for u, a in turns:
        msgs += [Message("user", u), Message("assistant", a)]
    return msgs + [Message("user", question)]


def prompt_ids(llm, messages) -> list[int]:
    chat = [m.as_dict() for m in messages]
    return list(llm.tokenizer.apply_chat_template(chat, add_generation_prompt=True, return_dict=True)["input_ids"])


def test_converted_once_and_reused(tiny_llm_path, converted):
    again = OnnxGenAILLM(model=str(tiny_llm_path), precision="fp32", converted_dir=str(converted.parent))
    assert again.convert() == converted  # from the cache: no second conversion
    assert (converted / "genai_config.json").is_file()


def test_next_turn_prefills_only_the_new_tokens_and_replies_as_without_cache(converted):
    llm = make(converted)
    turns: list[tuple[str, str]] = []
    for i, q in enumerate(QUESTIONS):
        msgs = conversation(turns, q)
        ids = prompt_ids(llm, msgs)
        held = list(llm.slots["s"].tokens) if turns else []
        text = reply(llm, msgs, "s")
        assert text, "the tiny model replies"
        if turns:
            # Only what the slot did not already hold went in: the new user turn (and the last
            # reply from where its text tokenizes differently from what was generated).
            assert llm.prefills[-1] == len(ids) - common_prefix(held, ids)
            assert llm.last_reused >= len(prompt_ids(llm, conversation(turns[:-1], turns[-1][0])))
        assert text == fresh(converted, msgs), f"turn {i + 1}: the cached reply differs"
        assert len(llm.slots["s"].tokens) == llm.slots["s"].generator.token_count()
        turns.append((q, text))
    assert len(llm.prefills) == len(QUESTIONS)  # one generator for the whole conversation: no full re-prefill


def test_a_reply_ended_by_the_end_token_is_reused(converted, tmp_path):
    import json
    import shutil

    probe = make(converted, max_new_tokens=3)
    first = conversation([], QUESTIONS[0])
    reply(probe, first, "s")
    ids = prompt_ids(probe, first)
    end = probe.slots["s"].tokens[len(ids) + 1]  # the model's second token: make it the end token
    model = shutil.copytree(converted, tmp_path / "m")
    config = json.loads((model / "genai_config.json").read_text())
    config["model"]["eos_token_id"] = end
    (model / "genai_config.json").write_text(json.dumps(config))
    llm = make(model)
    text = reply(llm, first, "s")
    assert llm.finish_reason == "stop"
    msgs = conversation([(QUESTIONS[0], text)], QUESTIONS[1])
    reply(llm, msgs, "s")
    assert llm.last_reused >= len(ids)  # the generator the end token stopped went on from its cache


def test_barge_in_rewinds_to_what_was_heard(converted):
    llm = make(converted)
    first = conversation([], QUESTIONS[0])
    text = reply(llm, first, "s")
    heard = text[: max(1, len(text) // 3)]  # the user interrupted: the engine keeps only this
    msgs = conversation([(QUESTIONS[0], heard)], QUESTIONS[1])
    ids = prompt_ids(llm, msgs)
    held = list(llm.slots["s"].tokens)
    out = reply(llm, msgs, "s")
    cut = common_prefix(held, ids)
    assert cut < len(held)  # the unheard tokens were dropped from the cache ...
    assert llm.last_reused == cut and llm.prefills[-1] == len(ids) - cut  # ... and only the rest prefilled
    assert out == fresh(converted, msgs)


def test_two_sessions_keep_their_own_cache(converted):
    llm = make(converted)
    a0, b0 = conversation([], QUESTIONS[0]), conversation([], QUESTIONS[2])
    ra, rb = reply(llm, a0, "a"), reply(llm, b0, "b")
    a1 = conversation([(QUESTIONS[0], ra)], QUESTIONS[1])
    b1 = conversation([(QUESTIONS[2], rb)], QUESTIONS[3])
    out_a = reply(llm, a1, "a")  # b's turn in between did not touch a's cache
    assert llm.last_reused >= len(prompt_ids(llm, a0))
    out_b = reply(llm, b1, "b")
    assert llm.last_reused >= len(prompt_ids(llm, b0))
    assert set(llm.slots) == {"a", "b"} and llm.slots["a"].generator is not llm.slots["b"].generator
    assert out_a == fresh(converted, a1) and out_b == fresh(converted, b1)


def test_least_recently_used_session_is_dropped(converted):
    llm = make(converted, sessions=2)
    for key in ("a", "b", "c"):
        reply(llm, conversation([], QUESTIONS[0]), key)
    assert set(llm.slots) == {"b", "c"}


def test_warm_up_and_dropped_generators_are_rewound_for_new_conversations(converted):
    llm = make(converted, warmup=True, sessions=1)
    spare = llm._spare  # the warm-up's generator (made before the recorder was in place)
    assert spare is not None
    msgs = conversation([], QUESTIONS[2])
    assert reply(llm, msgs, "a") == fresh(converted, msgs)
    assert llm.slots["a"].generator is spare and llm.last_prefill == len(prompt_ids(llm, msgs))
    assert reply(llm, conversation([], QUESTIONS[3]), "b") == fresh(converted, conversation([], QUESTIONS[3]))
    assert llm.slots["b"].generator is spare  # "a" was dropped: "b" took its generator, rewound
    assert llm.prefills == []  # no generator was made for either


def test_history_trimmed_at_the_front_is_prefilled_again(converted):
    llm = make(converted)
    t1, t2 = (QUESTIONS[0], "Gut, danke."), (QUESTIONS[1], "Sunny and warm.")
    reply(llm, conversation([t1, t2], QUESTIONS[2]), "s")
    trimmed = conversation([t2], QUESTIONS[3])  # max_turns dropped the oldest turn
    ids = prompt_ids(llm, trimmed)
    out = reply(llm, trimmed, "s")
    system_only = len(prompt_ids(llm, [SYSTEM, Message("user", "x")])) - 8
    assert llm.last_reused < len(ids) // 2 and llm.last_reused >= system_only // 2
    assert out == fresh(converted, trimmed)


def test_no_session_continues_the_matching_conversation(converted):
    llm = make(converted)
    r = reply(llm, conversation([], QUESTIONS[0]))
    reply(llm, conversation([], QUESTIONS[2]))  # another conversation (no key): its own slot
    msgs = conversation([(QUESTIONS[0], r)], QUESTIONS[1])
    reply(llm, msgs)
    assert llm.last_reused >= len(prompt_ids(llm, conversation([], QUESTIONS[0])))


def test_cancel_stops_and_the_next_turn_is_right(converted):
    llm = make(converted, max_new_tokens=40)
    gen = llm.stream(conversation([], QUESTIONS[0]), session="s")
    first = next(gen)
    gen.close()  # barge-in
    assert len(llm.slots["s"].tokens) < len(prompt_ids(llm, conversation([], QUESTIONS[0]))) + 10
    msgs = conversation([(QUESTIONS[0], first)], QUESTIONS[1])
    assert reply(llm, msgs, "s") == fresh(converted, msgs, max_new_tokens=40)


def test_max_new_tokens_and_finish_reason(converted):
    llm = make(converted, max_new_tokens=3)
    reply(llm, conversation([], QUESTIONS[2]), "s")
    generated = len(llm.slots["s"].tokens) - len(prompt_ids(llm, conversation([], QUESTIONS[2])))
    assert generated <= 3
    assert llm.finish_reason in ("length", "stop")
    assert (llm.finish_reason == "length") == (generated == 3 and llm.slots["s"].tokens[-1] not in llm._eos_ids)


def test_prompt_longer_than_the_context_is_a_readable_error(converted):
    llm = make(converted, context_tokens=64)
    with pytest.raises(StageError, match="context_tokens"):
        reply(llm, conversation([], "word " * 200), "s")


def test_sampling_with_a_seed_repeats(converted):
    a = reply(make(converted, temperature=0.9, seed=7), conversation([], QUESTIONS[0]), "s")
    b = reply(make(converted, temperature=0.9, seed=7), conversation([], QUESTIONS[0]), "s")
    assert a == b


def test_used_before_load_is_a_stage_error(converted):
    with pytest.raises(StageError, match="before load"):
        OnnxGenAILLM(model=str(converted)).stream([Message("user", "hi")])


def test_engine_passes_the_session_to_backends_that_keep_one():
    from assistant.engine.stages import Stages

    seen = []

    class Keeps:
        keeps_sessions = True
        finish_reason = None

        def stream(self, messages, session=None):
            seen.append(session)
            yield "ok"

    class Plain:
        finish_reason = None

        def stream(self, messages):
            seen.append("plain")
            yield "ok"

    stages = Stages.__new__(Stages)
    import threading

    stages.llm_lock = threading.Lock()
    for llm in (Keeps(), Plain()):
        stages.llm = llm
        assert list(stages._stream([Message("user", "hi")], "sess-1")) == ["ok"]
    assert seen == ["sess-1", "plain"]


def test_a_multilingual_conversation_through_the_history_prefills_only_each_new_question(converted):
    """The prompts the engine really builds (history.py): the reply-language line with the
    question, history trimmed in blocks. Between trims the whole previous prompt and the reply
    come from the cache, whatever the language; a barge-in keeps only what was heard."""
    from assistant.language.instructions import insist_instruction
    from assistant.llm.history import Conversation, History

    llm = make(converted, max_new_tokens=16)
    history = History(Conversation(system_prompt=SYSTEM.content, max_turns=4))
    languages = ["en", "de", "es", "fr", "pt"]
    previous: list[int] | None = None
    reused_whole, trimmed = 0, 0
    for i in range(9):
        before = len(history.turns)
        retry = insist_instruction(languages[i % 5]) if i == 3 else None  # a retry's line, kept as sent
        msgs = history.messages(QUESTIONS[i % len(QUESTIONS)], languages[i % 5], llm.count_tokens, retry)
        ids = prompt_ids(llm, msgs)
        text = reply(llm, msgs, "s")
        if previous is not None and len(history.turns) == before and before > 0 and ids[:len(previous)] == previous:
            # the previous prompt is a prefix of this one: all of it, and the reply's tokens as far as
            # they tokenize the same way, came from the cache
            assert llm.last_reused >= len(previous)
            assert llm.last_prefill <= len(ids) - len(previous)
            reused_whole += 1
        elif previous is not None:
            trimmed += 1
            assert llm.last_reused >= len(prompt_ids(llm, [SYSTEM])) - 4  # at least the system prompt
        assert text == fresh(converted, msgs, max_new_tokens=16), f"turn {i + 1}: the cached reply differs"
        heard = text[: max(1, len(text) // 2)] if i == 5 else text  # turn 6 interrupted
        history.add(QUESTIONS[i % len(QUESTIONS)], heard.strip() or "ok")
        previous = ids
    # 9 turns, max_turns 4: trimmed to 2 after the 5th and the 8th exchange; every other turn
    # continued the previous prompt
    assert trimmed == 2 and reused_whole == 6


def test_prepare_prefills_the_trimmed_prompt_ahead_so_the_next_turn_prefills_only_its_question(converted):
    from assistant.llm.history import Conversation, History

    llm = make(converted, max_new_tokens=16)
    history = History(Conversation(system_prompt=SYSTEM.content, max_turns=2))
    for i in range(2):
        msgs = history.messages(QUESTIONS[i], "en", llm.count_tokens)
        history.add(QUESTIONS[i], reply(llm, msgs, "s").strip() or "ok")
    msgs = history.messages(QUESTIONS[2], "de", llm.count_tokens)
    history.add(QUESTIONS[2], reply(llm, msgs, "s").strip() or "ok")  # a third: trimmed to one
    assert history.trimmed and len(history.turns) == 1
    prefix = history.prefix(llm.count_tokens)
    llm.prepare(prefix, "s")
    ahead = llm.last_prefill
    assert ahead > 0  # the kept exchange went in now (the trim changed what follows the system prompt)
    msgs = history.messages(QUESTIONS[3], "es", llm.count_tokens)
    ids = prompt_ids(llm, msgs)
    prefix_ids = list(llm.tokenizer.apply_chat_template([m.as_dict() for m in prefix], return_dict=True)["input_ids"])
    assert ids[:len(prefix_ids)] == prefix_ids
    out = reply(llm, msgs, "s")
    assert llm.last_reused >= len(prefix_ids) and llm.last_prefill == len(ids) - llm.last_reused
    assert llm.last_prefill < ahead  # the question alone, not the history again
    assert out == fresh(converted, msgs, max_new_tokens=16)
    other = make(converted)
    other.prepare(prefix, "t")  # a new conversation: a generator of its own
    assert set(other.slots) == {"t"}
