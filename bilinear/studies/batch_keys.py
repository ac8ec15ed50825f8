"""Names of the batch sizes of the study: the params key, DVC stage suffix and CSV file name
'B<size>' (sweep.batch_sizes, sweep@B<size>, data/sweep/B<size>.csv)."""

from __future__ import annotations

import re

KEY = re.compile(r"B([1-9][0-9]*)")


def batch_key(batch: int) -> str:
    """The key of a batch size: 'B<size>'."""
    return f"B{batch}"


def is_batch_key(key) -> bool:
    """True for a string 'B<size>' with a positive size written without leading zeros."""
    return isinstance(key, str) and KEY.fullmatch(key) is not None


def batch_of(key: str) -> int:
    """The batch size of a key 'B<size>' (raises ValueError otherwise)."""
    if not is_batch_key(key):
        raise ValueError(f"not a batch-size key B<size>: {key!r}")
    return int(key[1:])
