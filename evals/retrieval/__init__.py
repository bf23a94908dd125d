"""Retrieval eval: labelled policy questions, recall@5 and MRR for lexical, vector and hybrid search.

Run with `python -m evals.retrieval` (see `evals/retrieval/runner.py`).
"""
