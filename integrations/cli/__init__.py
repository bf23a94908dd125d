"""The `creditdesk` command line. Each command group lives in its own module and registers on `app`."""

from __future__ import annotations

from integrations.cli.app import app


def main() -> None:
    app()


__all__ = ["app", "main"]
