"""Child process for the migration race: open the store at DATABASE_URL at the same instant
as its siblings (the wall-clock time GO), then print the schema version it found ready.

    python migrate_child.py DATABASE_URL GO
"""

from __future__ import annotations

import sys
import time

from dlrpoll.store import Store


def main() -> None:
    url, go = sys.argv[1], float(sys.argv[2])
    time.sleep(max(0.0, go - time.time()))  # line up with the other processes
    with Store(url) as store:
        print("version", store.schema_version, flush=True)


if __name__ == "__main__":
    main()
