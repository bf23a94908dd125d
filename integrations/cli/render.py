"""Terminal rendering shared by the commands: rich tables, progress bars and error output."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, NoReturn

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from core.errors import CreditDeskError

console = Console()
err_console = Console(stderr=True)


@contextmanager
def progress_bar() -> Iterator[Callable[[str, int, int], None]]:
    """Yields a `progress(stage, done, total)` callback that drives one bar per stage."""
    tasks: dict[str, Any] = {}
    with Progress(
        TextColumn("[bold]{task.description:<14}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        transient=False,
    ) as progress:

        def update(stage: str, done: int, total: int) -> None:
            task = tasks.get(stage)
            if task is None:
                task = tasks[stage] = progress.add_task(stage, total=max(total, 1))
            progress.update(task, completed=done, total=max(total, 1))

        yield update


def fail(error: CreditDeskError | str, *, code: int = 1) -> NoReturn:
    if isinstance(error, CreditDeskError):
        err_console.print(f"[bold red]error[/] ({error.code.value}): {error.message}", soft_wrap=True)
        for item in error.details.get("errors", [])[:50]:
            if isinstance(item, dict):
                where = f"line {item.get('line')}" + (f", {item['column']}" if item.get("column") else "")
                err_console.print(f"  {where}: {item.get('reason')}")
        hidden = len(error.details.get("errors", [])) - 50
        if hidden > 0:
            err_console.print(f"  … and {hidden} more")
    else:
        err_console.print(f"[bold red]error[/]: {error}", soft_wrap=True)
    raise typer.Exit(code)
