"""Child process for the crash test: journal raw items, say so, then block until killed.

    python crash_child.py DATABASE_URL N

It stands for a poller killed between step 3 (journal committed) and step 5 (receipts
stored): the test SIGKILLs it after the "journaled" line.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime

from dlrpoll.rawitem import RawItem
from dlrpoll.store import Store


def main() -> None:
    url, count = sys.argv[1], int(sys.argv[2])
    store = Store(url)
    items = [RawItem(f"uid-{i}", f"receipt M{i}".encode(), "text") for i in range(count)]
    entries = store.journal("box", items, datetime(2026, 11, 22, 14, 0, tzinfo=UTC))
    print("journaled", sum(e.new for e in entries), flush=True)
    sys.stdin.read()  # block: the parent kills us here, before store_parsed


if __name__ == "__main__":
    main()
