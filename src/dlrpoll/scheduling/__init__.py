"""Scheduling: when each source is polled, never inside its two-minute floor.

- :mod:`~dlrpoll.scheduling.floor`: the floor as pure arithmetic (re-exported here);
- :mod:`~dlrpoll.scheduling.round`: one round of polls, for cron and ``dlrpoll poll``;
- :mod:`~dlrpoll.scheduling.trigger`: the APScheduler trigger;
- :mod:`~dlrpoll.scheduling.daemon`: the daemon, one APScheduler job per source.

The floor is kept twice: in the plan (:mod:`floor`), and in the database, where every poll
first claims its source, so cron, a daemon and a manual ``poll`` together still never poll
inside it. Only the daemon imports APScheduler; ``poll`` and ``status`` do not.
"""

from dlrpoll.scheduling.floor import (
    FLOOR_MARGIN,
    SKIP_RETRY,
    STARTUP_RATE,
    after_refusal,
    after_skip,
    is_due,
    jitter_delay,
    next_run_time,
    pool_size,
    startup_offsets,
)

__all__ = [
    "FLOOR_MARGIN",
    "SKIP_RETRY",
    "STARTUP_RATE",
    "after_refusal",
    "after_skip",
    "is_due",
    "jitter_delay",
    "next_run_time",
    "pool_size",
    "startup_offsets",
]
