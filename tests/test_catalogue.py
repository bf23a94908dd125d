"""The capability catalogue is the one contract of the agent and the offline understanding: every tool the model can
call has its description there, every capability the planner answers names a real tool and intent, the training
examples cover every capability, and none of them is a text of the frozen test set."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from assistant.agent import openai_tool_definitions, tool_description
from assistant.catalogue import OUT_OF_SCOPE, by_name, capabilities, examples, model_description
from assistant.planner.intents import Intent
from assistant.planner.semantic import mask_names, masked_example, name_words_to_mask
from db.demo.portfolio import demo_leading_name_words, demo_name_words
from db.models import Role
from tools.customers import NameWord
from tools.registry import get_registry

ROOT = Path(__file__).resolve().parent.parent
MIN_EXAMPLES = 15


def _normal(text: str) -> str:
    return " ".join(text.lower().split())


def test_every_registry_tool_has_its_model_description_in_the_catalogue() -> None:
    for name, spec in get_registry().items():
        described = model_description(name)
        assert described, f"{name} has no model description in capabilities.yaml"
        assert described in tool_description(spec)


def test_the_model_sees_the_catalogue_descriptions_for_its_role() -> None:
    for role in Role:
        sent = {d["function"]["name"]: d["function"]["description"] for d in openai_tool_definitions(role)}
        allowed = {name for name, spec in get_registry().items() if role in spec.roles}
        assert set(sent) == allowed
        for name, description in sent.items():
            assert str(model_description(name)) in description
    analyst = {d["function"]["name"] for d in openai_tool_definitions(Role.CREDIT_ANALYST)}
    assert "search_policy" in analyst


def test_capabilities_name_real_tools_and_intents() -> None:
    registry = get_registry()
    intents = {intent.value for intent in Intent}
    for capability in capabilities():
        if capability.tool is not None:
            assert capability.tool in registry, capability.name
            assert capability.slots() == tuple(registry[capability.tool].input_model.model_fields)
        if capability.intent is not None:
            assert capability.intent in intents, capability.name
    answered = {c.intent for c in capabilities() if c.intent}
    assert answered == intents - {Intent.UNKNOWN.value}, "every planner intent has exactly one catalogue entry"
    assert by_name("propose_credit_limit_change").slots()[:1] == ("customer",)


def test_training_examples_cover_every_capability_the_planner_answers() -> None:
    counts = Counter(example.capability for example in examples())
    for capability in capabilities():
        if capability.intent is not None:
            assert counts[capability.name] >= MIN_EXAMPLES, capability.name
    assert counts[OUT_OF_SCOPE] >= MIN_EXAMPLES
    texts = [_normal(example.text) for example in examples()]
    assert len(texts) == len(set(texts)), "duplicate training examples"


@pytest.mark.parametrize(
    "labelled",
    [
        "test.jsonl",
        "dev.jsonl",
        "dev2.jsonl",
        "dev3.jsonl",
        "dev4.jsonl",
        "dev5.jsonl",
        "dev6.jsonl",
        "dev7.jsonl",
        "dev8.jsonl",
        "dev9.jsonl",
        "dev10.jsonl",
        "dev11.jsonl",
        "dev12.jsonl",
        "dev13.jsonl",
        "dev14.jsonl",
        "dev15.jsonl",
        "dev16.jsonl",
        "dev17.jsonl",
        "dev18.jsonl",
        "dev19.jsonl",
        "dev20.jsonl",
        "dev21.jsonl",
        "dev22.jsonl",
        "dev23.jsonl",
        "dev24.jsonl",
        "dev25.jsonl",
        "dev26.jsonl",
        "dev27.jsonl",
        "dev28.jsonl",
        "dev29.jsonl",
        "dev30.jsonl",
        "dev31.jsonl",
        "dev32.jsonl",
        "dev33.jsonl",
    ],
)
def test_no_training_example_is_a_text_of_the_evaluation_sets(labelled: str) -> None:
    path = ROOT / "evals" / "understanding" / labelled
    held_out = {_normal(json.loads(line)["text"]) for line in path.read_text(encoding="utf-8").splitlines() if line}
    leaked = [example.text for example in examples() if _normal(example.text) in held_out]
    assert not leaked, leaked


def test_example_vectors_are_embedded_once_per_machine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import numpy as np

    from assistant.planner import semantic

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    rows = examples()[:5]
    first = semantic._vectors(rows)
    assert first.shape == (5, 384)
    assert len(list((tmp_path / "creditdesk").glob("intent-examples-*.npy"))) == 1

    def embedded_again(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("the cached vectors were not used")

    monkeypatch.setattr(semantic, "encode_local", embedded_again)
    assert np.array_equal(semantic._vectors(rows), first)


def test_the_hand_evaluated_head_gives_the_trained_heads_probabilities() -> None:
    import numpy as np

    from assistant.planner.semantic import semantic_intents
    from knowledge.embeddings import encode_query_local

    classifier = semantic_intents()
    assert classifier is not None
    for text in ("what does globex owe us", "pls raise hooli to 60k", "weather in paris?", "dso by region q3"):
        vector = encode_query_local(text)
        expected = classifier.head.predict_proba(classifier._features(classifier.words.transform([text]),
                                                                       vector.reshape(1, -1)))[0]  # fmt: skip
        assert np.allclose(classifier.probabilities(text, vector), expected, atol=1e-12)


def test_a_query_vector_is_the_vector_the_batch_encoder_gives() -> None:
    import numpy as np

    from knowledge.embeddings import encode_local, encode_query_local, forget_query_vectors

    forget_query_vectors()
    texts = [
        "what does globex owe us",
        "Sorry to bother you — are we ok to release 25k for Hooli?",
        "dso",
        "morning! the buyer at Umbrella Health is on the phone again about the order we put on hold last week; they "
        "say the overdue invoices were paid on Friday — can you check whether the order can go out today or not?",
    ]
    for text, batch_vector in zip(texts, encode_local(texts), strict=True):
        query_vector = encode_query_local(text)
        assert query_vector.dtype == np.float32
        assert abs(float(np.linalg.norm(query_vector)) - 1) < 1e-5
        assert float(query_vector @ batch_vector) > 0.99999


def test_queries_go_through_the_traced_transformer() -> None:
    from knowledge import embeddings

    assert embeddings._query_transformer() is not None  # the fast path, whose vectors the test above checks


def _book(words: dict[str, tuple[bool, bool]]) -> Callable[[list[str]], dict[str, NameWord]]:
    return lambda asked: {w: NameWord(*words[w]) for w in asked if w in words}


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("umbrella's outstanding?", "Contoso's outstanding?"),
        ("before I ring them - Newford Britain, what's open?", "before I ring them - Contoso, what's open?"),
        ("Schmidt & Dalton exposure", "Contoso exposure"),
        ("singapore customers overdue", "singapore customers overdue"),  # a place word alone
        ("how long do disputes take", "how long do disputes take"),  # a common word no name starts with
        ("exposure on 0688-XNJRO", "exposure on 0688-XNJRO"),  # part of an id
        ("ibm open AR", "ibm open AR"),  # a word every name shares
    ],
)
def test_customer_names_are_masked_for_the_classifier(text: str, masked: str) -> None:
    book = _book({
        "umbrella": (True, True), "newford": (True, True), "britain": (True, False), "schmidt": (True, True),
        "dalton": (True, False), "singapore": (True, False), "long": (True, False), "xnjro": (True, False),
        "ibm": (False, True),
    })  # fmt: skip
    assert mask_names(text, name_words_to_mask(text, book)) == masked


def test_the_training_examples_are_masked_like_messages() -> None:
    words, leading = demo_name_words(), demo_leading_name_words()
    assert masked_example("what does hooli owe", words, leading) == "what does Contoso owe"
    assert masked_example("stark components balance?", words, leading) == "Contoso balance?"
    assert masked_example("health check on the book", words, leading) == "health check on the book"
