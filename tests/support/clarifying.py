"""Make the offline planner ask a clarifying question deterministically, whatever the classifier would say."""

from __future__ import annotations

import pytest


def two_close_readings(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every message reads as exposure or score, too close to tell apart: the planner asks which one was meant
    (1. exposure, 2. score). Picking a reading never consults `understand`, so the answer is the real one."""
    from assistant.planner import turn
    from assistant.planner.intents import Intent, recognise
    from assistant.planner.understand import Understood

    def understand(text: str, names: object = frozenset()) -> Understood:
        readings = [(Intent.EXPOSURE, 0.5), (Intent.SCORE, 0.46)]
        return Understood(Intent.EXPOSURE, 0.5, readings, recognise(text), semantic=True)

    monkeypatch.setattr(turn, "understand", understand)
