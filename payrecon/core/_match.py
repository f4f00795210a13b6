"""Step 2: which statuses row each ledger row names, by numbering ids instead of joining.

Every id is hashed once into an integer code (``pyarrow.compute.dictionary_encode``); all matching
after that is integer arithmetic on the codes (``bincount``, ``maximum.at``), never a join.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from payrecon.core._inputs import Column, chunks
from payrecon.frames import TEXT


@dataclass(frozen=True)
class IdMatch:
    """Which statuses row (if any) each ledger row names, and what the ledger does not name."""

    ledger_codes: np.ndarray  # per ledger row: its id's number, ids numbered as first seen
    ledger_count: np.ndarray  # per id number: ledger rows naming it
    status_row: np.ndarray  # per ledger row: its statuses row (the id's last), or -1
    unnamed_rows: np.ndarray  # statuses rows no ledger row names: each id's last, in table order
    new_ids: pa.Array  # extra ids neither table holds, in the order given
    status_ids: int  # distinct ids in the statuses table


def match_ids(ledger_ids: Column, status_ids: Column, extra_ids: pa.Array) -> IdMatch:
    """Number every id (ledger, statuses, extra) in one hash pass over all of them, chunks as
    they are (one table of 2M ids is faster than two of 1M: each lookup builds its own), then
    match on the numbers."""
    n_ledger, n_status = len(ledger_ids), len(status_ids)
    encoded = pc.dictionary_encode(
        pa.chunked_array([*chunks(ledger_ids), *chunks(status_ids), extra_ids], TEXT)
    )
    dictionary = encoded.chunk(0).dictionary if encoded.num_chunks else pa.array([], TEXT)
    codes = np.concatenate(
        [np.zeros(0, np.int64)]
        + [c.indices.to_numpy(zero_copy_only=False).astype(np.int64) for c in encoded.chunks]
    )
    ledger_codes = codes[:n_ledger]
    status_codes = codes[n_ledger : n_ledger + n_status]
    extra_codes = codes[n_ledger + n_status :]
    ledger_count = np.bincount(ledger_codes, minlength=len(dictionary))
    chosen = np.full(len(dictionary), -1, dtype=np.int64)  # each id's statuses row: its last one
    np.maximum.at(chosen, status_codes, np.arange(n_status, dtype=np.int64))
    unnamed = np.flatnonzero(
        (chosen[status_codes] == np.arange(n_status)) & (ledger_count[status_codes] == 0)
    )
    if len(extra_codes):
        extra_codes = extra_codes[(chosen[extra_codes] < 0) & (ledger_count[extra_codes] == 0)]
    return IdMatch(
        ledger_codes,
        ledger_count,
        chosen[ledger_codes],
        unnamed,
        pc.take(dictionary, pa.array(extra_codes)),
        int((chosen >= 0).sum()),
    )
