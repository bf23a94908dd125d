"""Robustness of the offline desk to wording that keeps the meaning: each item of a labelled set rewritten four ways
(a greeting or aside before it, thanks or a deadline after it, all lower case, two neighbouring letters of a word
swapped) and scored like the item. A rewrite that loses an item the desk understood as written is a fragility.

    python -m evals.understanding.rewrites dev10 dev11

Never run it on the frozen test set: its rewrites would be read to tune on.
"""

from __future__ import annotations

import argparse
import dataclasses
import random
import re
from collections import Counter
from collections.abc import Sequence

from evals.understanding.score import LABELLED_SETS, Item, load_items, run_items

OPENINGS = ("hey, quick one - ", "morning! ", "sorry to bug you, ", "fyi boss is asking - ", "when you get a sec, ")
CLOSINGS = (" thanks", " ty!", "?? cheers", " - need it for the 10am", " thx in advance")
_SWAPPABLE = re.compile(r"\b[a-z]{5,}\b")


def swap_letters(text: str, rng: random.Random) -> str | None:
    """`text` with two neighbouring inner letters of one lower-case word of five letters or more swapped."""
    words = list(_SWAPPABLE.finditer(text))
    if not words:
        return None
    word = rng.choice(words)
    letters = word.group(0)
    at = rng.randrange(1, len(letters) - 2)
    swapped = letters[:at] + letters[at + 1] + letters[at] + letters[at + 2 :]
    return text[: word.start()] + swapped + text[word.end() :]


def rewrites(item: Item, rng: random.Random) -> list[Item]:
    """The item's meaning-keeping rewrites that differ from it, ids `<id>~<kind>`."""
    text = item.text
    lowered_start = text[:1].lower() + text[1:] if text[:2].istitle() else text
    variants = {
        "opening": rng.choice(OPENINGS) + lowered_start,
        "closing": text.rstrip("?.! ") + rng.choice(CLOSINGS),
        "lower": text.lower(),
        "swap": swap_letters(text, rng),
    }
    return [
        dataclasses.replace(item, id=f"{item.id}~{kind}", text=variant)
        for kind, variant in variants.items()
        if variant is not None and variant != text
    ]


def lost_by_kind(sets: Sequence[str], seed: int = 7) -> tuple[int, Counter[str], Counter[str]]:
    """How many rewrites were scored, and by kind those that lost an item understood as written (and how many of
    those were confidently wrong)."""
    if "test" in sets:
        raise ValueError("the frozen test set is never rewritten: its rewrites would be read to tune on")
    rng = random.Random(seed)  # noqa: S311 - reproducible rewrites, nothing secret
    items = [item for name in sets for item in load_items(LABELLED_SETS[name])]
    variants = [variant for item in items for variant in rewrites(item, rng)]
    judged = {j.item.id: j for j in run_items([*items, *variants])}
    lost: Counter[str] = Counter()
    wrong: Counter[str] = Counter()
    for variant in variants:
        original, kind = variant.id.split("~")
        if judged[original].understood and not judged[variant.id].understood:
            lost[kind] += 1
            wrong[kind] += judged[variant.id].confidently_wrong
    return len(variants), lost, wrong


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("sets", nargs="+", choices=sorted(set(LABELLED_SETS) - {"test"}))
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    scored, lost, wrong = lost_by_kind(args.sets, args.seed)
    print(f"{scored} rewrites of {', '.join(args.sets)}: {sum(lost.values())} lost an item understood as written "
          f"({sum(wrong.values())} confidently wrong)")  # fmt: skip
    for kind in ("opening", "closing", "lower", "swap"):
        print(f"  {kind}: {lost[kind]} lost, {wrong[kind]} confidently wrong")


if __name__ == "__main__":
    main()
