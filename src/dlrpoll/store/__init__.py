"""The store: journal, receipts, dedupe, poll runs and source claims, in one SQL database.

SQLite by default (WAL, busy timeout, synchronous FULL); nothing here depends on SQLite
beyond the pragmas and the bulk fast path, so a PostgreSQL URL works too.
"""

from dlrpoll.store.engine import masked_url
from dlrpoll.store.store import Claim, JournalEntry, Lease, ParsedRaw, PollRun, Store, StoreCounts

__all__ = [
    "Claim",
    "JournalEntry",
    "Lease",
    "ParsedRaw",
    "PollRun",
    "Store",
    "StoreCounts",
    "masked_url",
]
