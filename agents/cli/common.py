"""What every command shares: settings errors as one line, input files, output files."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import IO, Any

from pydantic import BaseModel, ValidationError

from agents.cli.progress import Progress
from models.csvout import csv_text
from models.jsonout import dumps
from models.outputs import AccountView, ChurnAlert, DeadLetter, MetricChange
from models.settings import Settings

Record = DeadLetter | MetricChange | ChurnAlert


class UsageError(Exception):
    """A problem the user can fix (missing file, bad setting): one line, exit 2."""


def load_settings(**overrides: Any) -> Settings:
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = ".".join(str(p) for p in first["loc"])
        message = first["msg"].removeprefix("Value error, ")
        if not where:  # a rule across settings names its own variables
            raise UsageError(f"bad settings: {message}") from None
        raise UsageError(f"bad setting GROWTH_{where.upper()}: {message}") from None


def open_lines(path: str) -> tuple[Iterator[bytes], int | None, IO[bytes]]:
    if path == "-":
        return iter(sys.stdin.buffer), None, sys.stdin.buffer
    try:
        handle = open(path, "rb")  # noqa: SIM115 - closed by the caller's ExitStack
    except FileNotFoundError:
        raise UsageError(f"no such file: {path}") from None
    except IsADirectoryError:
        raise UsageError(f"is a directory, not a replay file: {path}") from None
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}") from None
    return iter(handle), os.fstat(handle.fileno()).st_size, handle


def open_input(
    stack: ExitStack, path: str, label: str
) -> tuple[Iterator[bytes], int | None, Progress]:
    """The lines of a replay file (or stdin), closed with `stack`, and a progress bar for them."""
    lines, size, handle = open_lines(path)
    if handle is not sys.stdin.buffer:
        stack.callback(handle.close)
    return lines, size, Progress(label, size)


def writer(stack: ExitStack, path: str | None) -> Callable[[Record], None] | None:
    """One JSON line per record written to `path` (`-` = stdout), or None without a path."""
    if path is None:
        return None
    try:
        out = sys.stdout if path == "-" else stack.enter_context(open(path, "w", encoding="utf-8"))  # noqa: SIM115
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror}") from None

    def write(record: Record) -> None:
        out.write(record.to_json().decode())
        out.write("\n")

    return write


def write_accounts(path: str, accounts: Mapping[str, AccountView]) -> None:
    """One JSON line per account: `{"account_id": ..., ...its read-model row}`."""
    write_text(
        path,
        "".join(
            dumps({"account_id": account_id, **view.model_dump()}) + "\n"
            for account_id, view in accounts.items()
        ),
    )


def write_csv(path: str, rows: Sequence[BaseModel], columns: Sequence[str]) -> None:
    """`rows` as CSV with a header of `columns` (models/csvout.py)."""
    write_text(path, csv_text([row.model_dump() for row in rows], columns))


def write_json(path: str, value: Any) -> None:
    write_text(path, dumps(value) + "\n")


def write_text(path: str, text: str) -> None:
    """`text` to `path` (`-` = stdout); an unwritable path is a usage error, not a traceback."""
    if path == "-":
        sys.stdout.write(text)
        return
    try:
        Path(path).write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror}") from None
