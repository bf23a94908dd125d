"""Offline evaluations (labelled datasets and their runners)."""
