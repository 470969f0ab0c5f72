"""A results table written as it grows, so a long run that dies keeps what it did, and can be resumed.

Rows go to ``<output>.partial.csv`` (one complete line per ``write`` call, flushed after every file), and
:meth:`ResultsFile.finish` turns that into the output (CSV by an atomic rename, JSON by an atomic write), so
the output itself is never half-written. ``resume=True`` keeps the rows of an interrupted run (its partial
file, or a finished output) and reports which files it already holds; a line cut short by a kill is dropped.
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

import pandas as pd

from agelab.atomic import atomic_write_text


class ResultsFile:
    """Rows of ``columns`` for ``output`` (JSON records when ``as_json``, else CSV), written as they come."""

    def __init__(
        self,
        output: str | os.PathLike[str],
        columns: Sequence[str],
        *,
        as_json: bool = False,
        resume: bool = False,
    ) -> None:
        self.output = Path(output)
        self.columns = list(columns)
        self.as_json = as_json
        self.partial = self.output.with_name(self.output.name + ".partial.csv")
        self.replaced_partial = False
        kept = self._kept_rows() if resume else ""
        if not resume and self.partial.exists():
            self.replaced_partial = True  # an interrupted run's rows, not asked for: started afresh
        self.output.parent.mkdir(parents=True, exist_ok=True)
        header = ",".join(self.columns) + "\n"
        atomic_write_text(self.partial, header + kept)
        self.done: set[str] = (
            set(pd.read_csv(io.StringIO(header + kept))["file"].astype(str)) if kept else set()
        )
        self.resumed_rows = kept.count("\n")
        self._handle = self.partial.open("a", newline="")

    def _kept_rows(self) -> str:
        """The data lines (no header, complete lines only) of the partial file, else of a finished output."""
        if self.partial.exists():
            text = self.partial.read_text()
            lines = text[: text.rfind("\n") + 1].splitlines(keepends=True)  # a kill can cut the last line
            if lines and lines[0].rstrip("\r\n") == ",".join(self.columns):
                return "".join(lines[1:])
            raise ValueError(
                f"{self.partial}: not a results file of these columns; delete it or move it away"
            )
        if self.output.exists():
            if self.as_json:
                table = pd.DataFrame(json.loads(self.output.read_text()), columns=self.columns)
            else:
                table = pd.read_csv(self.output)
            if list(table.columns) != self.columns:
                raise ValueError(f"{self.output}: not a results table of these columns, cannot resume it")
            return table.to_csv(index=False, header=False, lineterminator="\n")
        return ""

    def write(self, rows: Iterable[dict]) -> None:
        """Append ``rows`` (one file's) as complete lines in one write, and flush them to the OS."""
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, self.columns, lineterminator="\n", extrasaction="ignore")
        writer.writerows(rows)
        self._handle.write(buffer.getvalue())
        self._handle.flush()

    def finish(self) -> pd.DataFrame:
        """Close, write the output atomically (CSV: rename the partial file), and return the whole table."""
        self._handle.close()
        table = pd.read_csv(self.partial)
        if self.as_json:
            records = table.astype(object).where(table.notna(), None).to_dict("records")
            atomic_write_text(self.output, json.dumps(records, indent=1, default=str))
            self.partial.unlink()
        else:
            os.replace(self.partial, self.output)
        return table

    def close(self) -> None:
        """Close without finishing: the partial file stays for ``resume``."""
        self._handle.close()
