"""The offline planner: answers the common credit-desk requests without a language model (rules, entity resolution,
registry tool calls, templated answers)."""

from assistant.planner.engine import OfflinePlanner

__all__ = ["OfflinePlanner"]
