"""Child process for the crash tests: journal raw items, say so, then block until killed.

    python crash_child.py DATABASE_URL N [mid-store]

It stands for a poller killed between step 3 (journal committed) and step 5 (receipts
stored): the test SIGKILLs it after the "journaled" line. With ``mid-store`` it goes on to
store the receipts and blocks inside that transaction, after the receipts are inserted and
before ``message_status`` is updated (the "inserted" line), where it is killed instead.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime

from sqlalchemy import event

from dlrpoll.rawitem import RawItem
from dlrpoll.receipts.model import Receipt, State
from dlrpoll.store import ParsedRaw, Store


def main() -> None:
    url, count = sys.argv[1], int(sys.argv[2])
    store = Store(url)
    items = [RawItem(f"uid-{i}", f"receipt M{i}".encode(), "text") for i in range(count)]
    entries = store.journal("box", items, datetime(2026, 11, 22, 14, 0, tzinfo=UTC))
    print("journaled", sum(e.new for e in entries), flush=True)
    if sys.argv[3:] != ["mid-store"]:
        sys.stdin.read()  # block: the parent kills us here, before store_parsed
        return

    def block(statement: str) -> None:
        if statement.startswith("INSERT INTO message_status"):
            print("inserted", flush=True)
            sys.stdin.read()  # the receipts are in, their statuses not yet: killed here

    # on SQLite the store runs its hot statements on the driver's connection, where
    # SQLAlchemy's events do not see them; SQLite's own trace hook does
    if store.sqlite:
        store.engine.dispose()  # connections opened from now on carry the hook
        event.listen(store.engine, "connect", lambda dbapi, _rec: dbapi.set_trace_callback(block))
    else:
        event.listen(store.engine, "before_cursor_execute", lambda _c, _k, sql, *_a: block(sql))

    results = [
        ParsedRaw(e.raw_id, [Receipt(f"M{i}", State.DELIVERED, True, "DELIVRD", "smpp")])
        for i, e in enumerate(entries)
    ]
    store.store_parsed("box", "box", results, datetime(2026, 11, 22, 14, 1, tzinfo=UTC))


if __name__ == "__main__":
    main()
