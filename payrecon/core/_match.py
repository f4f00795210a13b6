"""Step 2: which statuses row each ledger row names, by numbering ids instead of joining.

Every id is hashed once into an integer code (``pyarrow.compute.dictionary_encode``); all matching
after that is integer arithmetic on the codes (``bincount``, ``maximum.at``), never a join.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from payrecon._speed import speed_trick
from payrecon.core._inputs import Column, chunks, flat, to_numpy_mask
from payrecon.statuses._table import TEXT


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
    aligned = (
        _match_aligned(ledger_ids, status_ids, extra_ids) if speed_trick("aligned_match") else None
    )
    if aligned is not None:
        return aligned
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


def _match_aligned(ledger_ids: Column, status_ids: Column, extra_ids: pa.Array) -> IdMatch | None:
    """The statuses table as ``payrecon fetch`` writes it for a ledger: the ledger's ids once each
    in the order they first appear, then any others. Then only the ledger's ids are hashed (the
    others are few): one pass over 1M ids instead of 2M. ``None`` when the table is not so."""
    if len(ledger_ids) == 0 or ledger_ids.null_count or status_ids.null_count:
        return None
    encoded = pc.dictionary_encode(flat(ledger_ids))
    ids = encoded.dictionary
    n_ids = len(ids)
    if (
        n_ids > len(status_ids)
        or not pc.all(pc.equal(ids, flat(status_ids.slice(0, n_ids)))).as_py()
    ):
        return None
    ledger_codes = encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64)
    chosen = np.arange(n_ids, dtype=np.int64)  # the statuses row of each ledger id
    unnamed = np.zeros(0, dtype=np.int64)
    tail_ids = pa.array([], TEXT)
    tail_known = 0  # distinct tail ids that are ledger ids too
    tail = flat(status_ids.slice(n_ids))
    if len(tail):
        tail_encoded = pc.dictionary_encode(tail)
        tail_ids = tail_encoded.dictionary
        last = np.full(len(tail_ids), -1, dtype=np.int64)
        np.maximum.at(
            last,
            tail_encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64),
            np.arange(len(tail), dtype=np.int64),
        )
        at = pc.fill_null(pc.index_in(ids, value_set=tail_ids), -1)
        tail_at = at.to_numpy(zero_copy_only=False).astype(np.int64)  # per ledger id, or -1
        again = tail_at >= 0
        tail_known = int(again.sum())
        chosen[again] = n_ids + last[tail_at[again]]  # a later row of the same id wins
        named = np.zeros(len(tail_ids), dtype=bool)
        named[tail_at[again]] = True
        unnamed = n_ids + np.sort(last[~named])
    new_ids = extra_ids
    if len(extra_ids):
        known = np.zeros(len(extra_ids), dtype=bool)
        at_np = pc.fill_null(pc.index_in(ids, value_set=extra_ids), -1).to_numpy(
            zero_copy_only=False
        )
        known[at_np[at_np >= 0].astype(np.int64)] = True
        known |= to_numpy_mask(pc.is_in(extra_ids, value_set=tail_ids))
        new_ids = extra_ids.filter(pa.array(~known))
    return IdMatch(
        ledger_codes,
        np.bincount(ledger_codes, minlength=n_ids),
        chosen[ledger_codes],
        unnamed,
        new_ids,
        n_ids + len(tail_ids) - tail_known,
    )
