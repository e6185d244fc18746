"""Child process for the SIGKILL test: a single-threaded "zygote" that imports dlrpoll and
loads the WSDL once, then forks one poller per request, so twenty kills do not cost twenty
interpreter start-ups.

    python -m tests.soap.crash_child CONFIG_PATH BASE_EPOCH

Protocol on stdin/stdout, one line each: the parent writes ``poll K``; the zygote forks a
child that runs one poll with its clock at BASE + 10 minutes × K (so the two-minute floor
never refuses it) and answers ``pid PID``; when that child ends (or is killed) it answers
``exit STATUS``. An empty line or EOF ends the zygote.
"""

from __future__ import annotations

import os
import sys
from datetime import UTC, datetime, timedelta

from dlrpoll.config import load_config
from dlrpoll.poller import poll_source
from dlrpoll.sources import RetryPolicy, make_source
from dlrpoll.sources.soap import SoapSource
from dlrpoll.store import Store


def main(argv: list[str]) -> int:
    config = load_config(argv[0])
    base = datetime.fromtimestamp(float(argv[1]), UTC)
    cfg = config.settings.sources[0]
    source = make_source(config, cfg, RetryPolicy(attempts=3, wait_initial=0.0))
    assert isinstance(source, SoapSource)
    source.plans()  # load the WSDL here, in the zygote: every fork inherits it
    for line in sys.stdin:
        words = line.split()
        if not words:
            break
        k = int(words[1])
        pid = os.fork()
        if pid == 0:
            now = base + timedelta(minutes=10 * k)
            store = Store(config.database_url)
            try:
                poll_source(config, cfg, source, store, clock=lambda t=now: t)
            finally:
                store.close()
            os._exit(0)
        print(f"pid {pid}", flush=True)
        _, status = os.waitpid(pid, 0)
        print(f"exit {status}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
