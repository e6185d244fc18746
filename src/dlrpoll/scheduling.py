"""Scheduling: the two-minute floor, one round of polls for cron, and the daemon.

The floor is kept twice. Here, a source's next poll is never planned sooner than its interval
after the start of its last one: jitter only ever *delays* a poll, and the plan is re-made
from the real start time after every poll, so a poll that started late cannot pull the next
one closer. And in the database, where every poll first claims its source (the poller's step
1): cron, a daemon and a manual ``poll`` together still never poll inside the floor.

The arithmetic is in pure functions (:func:`next_run_time`, :func:`is_due`,
:func:`jitter_delay`) tested with fixed datetimes; :class:`Daemon` wires them to APScheduler.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor as _Pool
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers import SchedulerNotRunningError
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.base import BaseTrigger

from dlrpoll.config import LoadedConfig, SourceConfig
from dlrpoll.errors import DlrpollError
from dlrpoll.owner import Owner
from dlrpoll.poller import Clock, PollResult, default_owner, poll_source, utcnow
from dlrpoll.sources import RetryPolicy, Source, make_source
from dlrpoll.store import Store, reports

log = logging.getLogger(__name__)

Rand = Callable[[], float]
SourceFactory = Callable[[LoadedConfig, SourceConfig, RetryPolicy], Source]

#: Planned polls start this much after the floor, so that a database that stores times a
#: little coarser than our clock never sees a poll a hair inside the interval.
FLOOR_MARGIN = 0.5
#: After a refused claim (another poller holds the source), try again no sooner than this.
SKIP_RETRY = 30.0
#: At start, due sources are staggered at this many polls a second (most overdue first), so
#: that thousands of sources do not all start at once and keep doing so every interval.
STARTUP_RATE = 20.0


# -- pure arithmetic -----------------------------------------------------------------------
def jitter_delay(jitter: float, rand: Rand = random.random) -> float:
    """A random delay in ``[0, jitter]`` seconds. Never negative: jitter only delays."""
    return max(0.0, jitter) * min(max(rand(), 0.0), 1.0)


def is_due(last_start: datetime | None, interval: float, now: datetime) -> bool:
    """Whether a source whose last poll started at ``last_start`` may be polled at ``now``."""
    return last_start is None or (now - last_start).total_seconds() >= interval


def next_run_time(
    last_start: datetime | None,
    interval: float,
    now: datetime,
    delay: float = 0.0,
    margin: float = FLOOR_MARGIN,
) -> datetime:
    """When to poll next: ``now`` if the source is due (never polled, or overdue), otherwise
    its last start plus ``interval``; then plus ``margin`` and the jitter ``delay``. The result
    is never less than ``interval`` after ``last_start``."""
    base = now if last_start is None else max(now, last_start + timedelta(seconds=interval))
    return base + timedelta(seconds=margin + max(0.0, delay))


def after_skip(
    last_start: datetime | None, interval: float, now: datetime, delay: float = 0.0
) -> datetime:
    """The next try after a refused claim: the floor from the stored last start, and not
    sooner than :data:`SKIP_RETRY` (the other poller may hold the claim a while)."""
    return max(
        next_run_time(last_start, interval, now, delay),
        now + timedelta(seconds=SKIP_RETRY + delay),
    )


def after_refusal(
    next_allowed: datetime, now: datetime, delay: float = 0.0, margin: float = FLOOR_MARGIN
) -> datetime:
    """The next try after a refused lease that said when the source is next allowed (the
    floor, or the end of another poller's lease): then, plus ``margin`` and the jitter."""
    return max(now, next_allowed) + timedelta(seconds=margin + max(0.0, delay))


def startup_offsets(
    last_starts: dict[str, datetime | None],
    intervals: dict[str, float],
    now: datetime,
    rate: float = STARTUP_RATE,
) -> dict[str, float]:
    """Seconds to hold back each due source's first poll: the k-th most overdue waits
    ``k / rate``, the rate raised if needed so that all start within one interval. Sources
    not due get 0 (their floor already spreads them)."""
    due = [name for name, last in last_starts.items() if is_due(last, intervals[name], now)]
    if due:
        rate = max(rate, len(due) / min(intervals[name] for name in due))
    epoch = datetime.min.replace(tzinfo=now.tzinfo)
    due.sort(key=lambda name: last_starts[name] or epoch)
    out = dict.fromkeys(last_starts, 0.0)
    for k, name in enumerate(due):
        out[name] = k / rate
    return out


def pool_size(sources: int) -> int:
    """Worker threads for the daemon: enough that a few hanging sources (each bounded by its
    timeout) do not hold up the others, without a thread per source."""
    return max(4, min(64, sources))


class FloorTrigger(BaseTrigger):  # type: ignore[misc]
    """APScheduler trigger: ``interval`` plus a jitter that only delays, after the previous
    fire time. The daemon re-plans each source from its real start after every poll; this
    trigger is the fallback when a run was missed or overran."""

    __slots__ = ("interval", "jitter", "rand")

    def __init__(self, interval: float, jitter: float, rand: Rand = random.random) -> None:
        self.interval = interval
        self.jitter = jitter
        self.rand = rand

    def get_next_fire_time(
        self, previous_fire_time: datetime | None, now: datetime
    ) -> datetime | None:
        if previous_fire_time is None:
            return now
        delay = jitter_delay(self.jitter, self.rand)
        return previous_fire_time + timedelta(seconds=self.interval + FLOOR_MARGIN + delay)

    def __str__(self) -> str:
        return f"floor[{self.interval:g}s +0..{self.jitter:g}s]"


# -- one round (cron) ----------------------------------------------------------------------
def select_sources(config: LoadedConfig, names: Sequence[str] = ()) -> list[SourceConfig]:
    """The enabled sources, or those named (unknown names are a :class:`ConfigError`)."""
    if names:
        return [config.settings.source(n) for n in dict.fromkeys(names)]
    return [s for s in config.settings.sources if s.enabled]


def poll_round(
    config: LoadedConfig,
    store: Store,
    sources: Sequence[SourceConfig],
    *,
    clock: Clock = utcnow,
    owner: Owner | str | None = None,
    workers: int = 8,
    stop: threading.Event | None = None,
    source_factory: SourceFactory = make_source,
) -> list[PollResult]:
    """Poll each source once if its claim is granted, a few at a time; results in the order
    given. A source that cannot even be set up (a missing WSDL) is reported as an error."""
    stop = stop or threading.Event()
    owner = owner or default_owner()

    def one(cfg: SourceConfig) -> PollResult:
        try:
            retry = RetryPolicy(attempts=cfg.retries + 1, stop=stop)
            source = source_factory(config, cfg, retry)
        except DlrpollError as exc:
            log.error("source %s: cannot set up: %s", cfg.name, exc)
            return PollResult(cfg.name, "error", error=str(exc))
        try:
            return poll_source(config, cfg, source, store, clock=clock, owner=owner, stop=stop)
        except Exception as exc:  # a bug in one source's code must not cost the others
            log.exception("source %s: poll crashed", cfg.name)
            return PollResult(cfg.name, "error", error=f"internal error: {exc!r}")

    if len(sources) <= 1 or workers <= 1:
        return [one(cfg) for cfg in sources]
    with _Pool(max_workers=min(workers, len(sources)), thread_name_prefix="poll") as pool:
        return list(pool.map(one, sources))


def round_exit_code(results: Iterable[PollResult]) -> int:
    """0 when every source succeeded or was skipped as not due, 1 when any failed."""
    return 1 if any(r.outcome == "error" for r in results) else 0


# -- the daemon ----------------------------------------------------------------------------
@dataclass
class _Plan:
    """What the daemon knows of one source between polls."""

    cfg: SourceConfig
    due: datetime
    source: Source | None = None


class _FirstCall:
    """Wraps a clock and remembers its first reading: the poller's start (claim) time."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self.first: datetime | None = None

    def __call__(self) -> datetime:
        now = self._clock()
        if self.first is None:
            self.first = now
        return now


class Daemon:
    """One APScheduler job per enabled source; see the module docstring for the floor.

    ``stop()`` (called from a signal handler) stops planning new polls, interrupts retry
    sleeps, and lets running polls finish their current batch (a safe point: never between
    a destructive acknowledgement and its commit). ``on_poll`` is called after every poll
    (the metrics file).
    """

    def __init__(
        self,
        config: LoadedConfig,
        store: Store,
        *,
        clock: Clock = utcnow,
        rand: Rand = random.random,
        owner: Owner | str | None = None,
        source_factory: SourceFactory = make_source,
        on_poll: Callable[[PollResult, float], None] | None = None,
        workers: int | None = None,
    ) -> None:
        self.config = config
        self.store = store
        self.clock = clock
        self.rand = rand
        self.owner = owner or default_owner()
        self.source_factory = source_factory
        self.on_poll = on_poll
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        self._plans: dict[str, _Plan] = {}
        sources = [s for s in config.settings.sources if s.enabled]
        self._sources = sources
        self._workers = workers or pool_size(len(sources))
        self._scheduler = BackgroundScheduler(
            timezone=UTC,
            executors={"default": ThreadPoolExecutor(self._workers)},
            job_defaults={"coalesce": True, "max_instances": 1},
        )

    @property
    def sources(self) -> list[SourceConfig]:
        return list(self._sources)

    def plan(self, name: str) -> datetime:
        """When ``name`` is next planned to poll."""
        return self._plans[name].due

    def start(self) -> None:
        """Plan every source from the database's last starts and start the scheduler: a due
        source polls at once (plus its jitter; many due sources are staggered at
        :data:`STARTUP_RATE` a second), the others when their interval is up."""
        now = self.clock()
        stored = reports.last_starts(self.store, [s.name for s in self._sources])
        last = {s.name: stored.get(s.name) for s in self._sources}
        hold = startup_offsets(last, {s.name: s.interval for s in self._sources}, now)
        for cfg in self._sources:
            due = next_run_time(
                last[cfg.name],
                cfg.interval,
                now,
                jitter_delay(cfg.jitter, self.rand) + hold[cfg.name],
            )
            self._plans[cfg.name] = _Plan(cfg, due)
            self._scheduler.add_job(
                self._job,
                trigger=FloorTrigger(cfg.interval, cfg.jitter, self.rand),
                args=(cfg.name,),
                id=cfg.name,
                name=f"poll {cfg.name}",
                next_run_time=due,
                # a poll that could not start on time still runs, up to an interval late;
                # coalesce folds the missed ones into one
                misfire_grace_time=int(cfg.interval),
            )
        self._scheduler.start()
        log.info(
            "scheduler started: %d source(s), %d worker thread(s)",
            len(self._sources),
            self._workers,
        )

    def stop(self) -> None:
        """Ask the daemon to stop (safe from a signal handler: it only sets an event)."""
        self.stopping.set()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until :meth:`stop`; returns whether it was called."""
        return self.stopping.wait(timeout)

    def shutdown(self) -> None:
        """Stop scheduling and wait for running polls to reach their safe point."""
        self.stopping.set()
        if self._scheduler.running:
            log.info("stopping: waiting for running polls to finish their current batch")
            self._scheduler.shutdown(wait=True)
        log.info("scheduler stopped")

    def run(self) -> int:
        """Start, block until :meth:`stop`, shut down cleanly; the exit code (0)."""
        self.start()
        try:
            while not self.stopping.wait(3600):
                pass
        finally:
            self.shutdown()
        return 0

    # -- the job ---------------------------------------------------------------------------
    def _source(self, plan: _Plan) -> Source:
        if plan.source is None:
            retry = RetryPolicy(attempts=plan.cfg.retries + 1, stop=self.stopping)
            plan.source = self.source_factory(self.config, plan.cfg, retry)
        return plan.source

    def _job(self, name: str) -> None:
        if self.stopping.is_set():
            return  # queued before the stop: do not start a new poll
        plan = self._plans[name]
        cfg = plan.cfg
        began = self.clock()
        lag = (began - plan.due).total_seconds()
        clock = _FirstCall(self.clock)
        result: PollResult | None = None
        try:
            source = self._source(plan)
            result = poll_source(
                self.config,
                cfg,
                source,
                self.store,
                clock=clock,
                owner=self.owner,
                stop=self.stopping,
            )
        except DlrpollError as exc:
            log.error("source %s: poll could not run: %s", name, exc)
            result = PollResult(name, "error", error=str(exc))
        finally:
            self._replan(plan, result, clock.first or began)
        log.debug("source %s: started %.3f s after planned, next at %s", name, lag, plan.due)
        if self.on_poll is not None and result is not None:
            self.on_poll(result, lag)

    def _replan(self, plan: _Plan, result: PollResult | None, started: datetime) -> None:
        cfg = plan.cfg
        now = self.clock()
        delay = jitter_delay(cfg.jitter, self.rand)
        if result is not None and result.outcome == "skipped" and result.next_allowed:
            # the refusal said when: no need to read the database again
            due = after_refusal(result.next_allowed, now, delay)
        elif result is not None and result.outcome == "skipped":
            try:
                last = reports.last_starts(self.store, [cfg.name]).get(cfg.name)
            except DlrpollError:
                last = started
            due = after_skip(last, cfg.interval, now, delay)
        else:
            due = next_run_time(started, cfg.interval, now, delay)
        plan.due = due
        if self.stopping.is_set():
            return
        try:
            self._scheduler.modify_job(cfg.name, next_run_time=due)
        except (JobLookupError, SchedulerNotRunningError) as exc:  # shut down under us
            log.debug("source %s: not re-planned: %s", cfg.name, exc)
