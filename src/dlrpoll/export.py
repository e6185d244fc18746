"""``dlrpoll export``: receipts or message statuses as CSV or JSON lines, for people who do not
speak SQL."""

from __future__ import annotations

import csv
import json
import os
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any

from dlrpoll.config import LoadedConfig, parse_duration
from dlrpoll.errors import ConfigError, DlrpollError
from dlrpoll.store import Store
from dlrpoll.store.opening import open_store
from dlrpoll.store.store import ExportKind, export_columns


def parse_when(text: str, now: datetime) -> datetime:
    """``--since``/``--until``: an ISO date or datetime (UTC when it has no offset), or a
    span back from ``now`` such as ``24h``."""
    value = text.strip()
    try:
        when = datetime.fromisoformat(value)
        return when if when.tzinfo else when.replace(tzinfo=UTC)
    except ValueError:
        pass
    if value[:1].isdigit() and not value.isdigit():  # a bare number is a mistake, not seconds
        try:
            return now - timedelta(seconds=parse_duration(value))
        except ValueError:
            pass
    raise ConfigError(
        f"{text!r} is not a time; write 2026-11-22, 2026-11-22T14:00, 2026-11-22T14:00+02:00, "
        f"or a span back from now such as 90m, 24h or 7d"
    )


def _scope(config: LoadedConfig, source: str) -> str:
    # a source removed from the config keeps its data; its scope was its name by default
    for cfg in config.settings.sources:
        if cfg.name == source:
            return cfg.scope
    return source


def _known(config: LoadedConfig, store: Store, source: str) -> None:
    """A source in the config, or one removed from it that has polls in the database (its
    data stays exportable); anything else is a typo, reported with the known names."""
    if any(cfg.name == source for cfg in config.settings.sources):
        return
    if store.last_polls([source]):
        return
    known = ", ".join(cfg.name for cfg in config.settings.sources) or "none configured"
    raise ConfigError(f"--source: no source named {source!r} (sources: {known})")


#: A spreadsheet reads a cell that starts with one of these as a formula (OWASP, "CSV
#: injection"); a provider controls receipt texts, so such a value gets a leading quote.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: object) -> object:
    """``value`` as a spreadsheet cannot run it: a text starting like a formula gets a
    leading ``'`` (which spreadsheets show as text and hide)."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def _write_csv(
    stream: IO[str], columns: Iterable[str], rows: Iterable[dict[str, Any]], *, raw: bool
) -> int:
    writer = csv.writer(stream)
    cols = list(columns)
    writer.writerow(cols)
    n = 0
    for row in rows:
        values = ["" if row[c] is None else row[c] for c in cols]
        writer.writerow(values if raw else [neutralise(v) for v in values])
        n += 1
    return n


def _write_xlsx(path: str | None, columns: Iterable[str], rows: Iterable[dict[str, Any]]) -> int:
    """An .xlsx file (openpyxl, write-only): every text, ids and error codes included, is a
    text cell, so 000123 stays 000123 and nothing is read as a formula or a date."""
    try:
        from openpyxl import Workbook
        from openpyxl.cell import WriteOnlyCell
    except ImportError:
        raise ConfigError(
            "--format xlsx needs openpyxl: pip install 'dlrpoll[xlsx]' (or openpyxl)"
        ) from None
    if path is None or path == "-":
        raise ConfigError("--format xlsx writes a file: give --output FILE.xlsx")
    book = Workbook(write_only=True)
    sheet = book.create_sheet("dlrpoll")
    cols = list(columns)
    sheet.append(cols)
    n = 0
    for row in rows:
        cells = []
        for c in cols:
            cell = WriteOnlyCell(sheet, value=row[c])
            if isinstance(row[c], str):
                cell.number_format = "@"  # text, whatever it looks like
                cell.data_type = "s"
            cells.append(cell)
        sheet.append(cells)
        n += 1
    target = Path(path)
    partial = target.with_name(f".{target.name}.partial")
    try:
        book.save(partial)
        os.replace(partial, target)
    except OSError as exc:
        raise DlrpollError(f"--output {path}: cannot write: {exc.strerror or exc}") from exc
    finally:
        partial.unlink(missing_ok=True)
    return n


def _write_jsonl(stream: IO[str], rows: Iterable[dict[str, Any]]) -> int:
    n = 0
    for row in rows:
        stream.write(json.dumps(row, ensure_ascii=False) + "\n")
        n += 1
    return n


@contextmanager
def _destination(path: str | None) -> Iterator[IO[str]]:
    """stdout, or a file that appears whole or not at all (written beside it, then renamed)."""
    if path is None or path == "-":
        yield sys.stdout
        return
    target = Path(path)
    partial = target.with_name(f".{target.name}.partial")
    try:
        with partial.open("w", encoding="utf-8", newline="") as stream:
            yield stream
        os.replace(partial, target)
    except OSError as exc:
        raise DlrpollError(f"--output {path}: cannot write: {exc.strerror or exc}") from exc
    finally:
        partial.unlink(missing_ok=True)


def export(
    config: LoadedConfig,
    *,
    what: ExportKind = "receipts",
    since: datetime | None = None,
    until: datetime | None = None,
    source: str | None = None,
    fmt: str = "csv",
    output: str | None = None,
    raw_csv: bool = False,
) -> int:
    """Write receipts (``what="receipts"``) or message statuses (``"status"``) as CSV, JSON
    lines or xlsx to ``output`` (a file that appears whole, or stdout); returns the rows
    written. ``source`` selects receipts by source, statuses by the source's dedupe scope.
    CSV values that would start a formula are neutralised unless ``raw_csv``."""
    if what == "receipts":
        filters: dict[str, Any] = {"source": source}
    else:
        filters = {"scope": _scope(config, source) if source else None}
    with open_store(config, read_only=True) as store:
        if source is not None:
            _known(config, store, source)
        rows = store.export_rows(what, since=since, until=until, **filters)
        if fmt == "xlsx":
            return _write_xlsx(output, export_columns(what), rows)
        with _destination(output) as stream:
            if fmt == "csv":
                return _write_csv(stream, export_columns(what), rows, raw=raw_csv)
            return _write_jsonl(stream, rows)
