"""The batch-size study's tables (data/sweep/B<size>.csv) read and checked before any statistics:
a file that does not parse, has no rows, lacks a column the statistics need
(bilinear.studies.stats.REQUIRED) or holds a value of the wrong kind is a SweepFormatError naming
the file, the column and the row."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np
import pandas as pd

from bilinear.io import read_regular_bytes
from bilinear.studies.stats import BOOLS, REQUIRED, SweepFormatError

FILLED = ["protocol", "run_id", "method", "final", "exact", "equivalent_to_strassen"]  # no empty
INTEGERS = ["batch_size", "epoch"]  # positive whole numbers
TRUTH_VALUES = ["true", "false", "1", "0", "1.0", "0.0"]  # of the boolean columns, any case
NUMBERS = ["seed", "replica", "train_loss", "test_loss", "grokking_epoch", "margin", "nonzeros",
           "expansion_error"]  # numbers or empty cells, as are kappa_* and trace_*


def check_rows(rows: pd.DataFrame, where: str) -> None:
    """SweepFormatError naming `where`, the column and the first bad row unless every REQUIRED
    column is present, FILLED columns have no empty cell, the boolean columns (stats.BOOLS)
    hold True/False (expansion_success may be empty: not evaluated), INTEGERS hold positive
    whole numbers and NUMBERS, kappa_* and trace_* hold numbers or empty cells."""
    missing = [c for c in REQUIRED if c not in rows.columns]
    if missing:
        raise SweepFormatError(f"{where}: lacks column(s) {missing}")
    for col in rows.columns:
        values = pd.to_numeric(rows[col], errors="coerce")
        if col in BOOLS:
            text = rows[col].astype(str).str.strip().str.lower()
            bad = rows[col].notna() & ~text.isin(TRUTH_VALUES)
            if col in FILLED:
                bad |= rows[col].isna()
            need = "True or False"
        elif col in FILLED:
            bad, need = rows[col].isna(), "a value"
        elif col in INTEGERS:
            bad = ~(np.isfinite(values) & (values >= 1) & (values == np.round(values)))
            need = "a positive whole number"
        elif col in NUMBERS or col.startswith(("kappa_", "trace_")):
            bad = values.isna() & rows[col].notna()
            need = "a number"
        else:
            continue
        if bad.any():
            row = int(np.argmax(bad.to_numpy()))
            raise SweepFormatError(f"{where}: column {col}, data row {row + 1}: "
                                   f"'{rows[col].iloc[row]}' is not {need}")


def read_tables(files: list[Path]) -> pd.DataFrame:
    """The rows of every file, in order, each file checked: a regular UTF-8 file
    (bilinear.io.read_regular_bytes) ending in a newline, every row as wide as the header (a
    cut or ragged file is refused, not padded), at least one row, then check_rows."""
    tables = []
    for f in files:
        try:
            text = read_regular_bytes(f).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise SweepFormatError(f"{f}: not a sweep table (not UTF-8 text: {exc.reason} at "
                                   f"byte {exc.start})") from None
        rows = list(csv.reader(io.StringIO(text)))
        if len(rows) < 2:
            raise SweepFormatError(f"{f}: no rows (run its sweep stage again)")
        if not text.endswith("\n"):
            raise SweepFormatError(f"{f}: ends inside a row (a cut file?)")
        short = next((i for i, row in enumerate(rows[1:], 1) if len(row) != len(rows[0])), None)
        if short is not None:
            raise SweepFormatError(f"{f}: data row {short} has {len(rows[short])} fields, the "
                                   f"header {len(rows[0])}")
        table = pd.read_csv(io.StringIO(text))
        check_rows(table, str(f))
        tables.append(table)
    return pd.concat(tables, ignore_index=True)
