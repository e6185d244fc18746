"""The daemon: one APScheduler job per enabled source, planned with the floor arithmetic.

Each source's first poll is at start if it is due (judged from the database, so a restart
does not poll early); afterwards it is re-planned from the real start of its last poll. Polls
run on a thread pool, so one slow provider does not hold up the others.
"""

from __future__ import annotations

import contextlib
import logging
import os
import random
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers import SchedulerNotRunningError
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger

from dlrpoll.config import LoadedConfig, SourceConfig, format_duration
from dlrpoll.counts import Outcome
from dlrpoll.errors import ConfigError, DlrpollError
from dlrpoll.owner import Owner
from dlrpoll.poller import Clock, PollResult, default_owner, log_result, poll_source, utcnow
from dlrpoll.scheduling.floor import (
    Rand,
    after_refusal,
    after_skip,
    jitter_delay,
    next_run_time,
    pool_size,
    startup_offsets,
)
from dlrpoll.scheduling.round import SourceFactory
from dlrpoll.scheduling.trigger import FloorTrigger
from dlrpoll.sources import RetryPolicy, Source, make_source
from dlrpoll.store import Store, reports

log = logging.getLogger(__name__)


def _when(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


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
    """One APScheduler job per enabled source; the floor is in :mod:`dlrpoll.scheduling.floor`.

    ``stop()`` (called from a signal handler) stops planning new polls, interrupts retry
    sleeps, and lets running polls finish their current batch (a safe point: never between
    a destructive acknowledgement and its commit); those polls are recorded
    ``interrupted``. ``request_reload()`` (SIGHUP) makes :meth:`run` adopt the config its
    ``load`` returns (:meth:`reload`), or keep the old one when the new one is broken.
    ``on_poll`` is called after every poll (the metrics file).
    """

    #: with more sources than this, each source's first planned poll is logged at DEBUG
    #: (and a summary at INFO) rather than one INFO line each
    LOG_EACH_PLAN = 100
    #: ``daily`` (retention) first runs this long after start, then every 24 hours
    DAILY_FIRST_DELAY = 600.0

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
        daily: Callable[[LoadedConfig, Store, datetime], None] | None = None,
    ) -> None:
        self.config = config
        self.store = store
        self.clock = clock
        self.rand = rand
        self.owner = owner or default_owner()
        self.source_factory = source_factory
        self.on_poll = on_poll
        self.daily = daily
        self.stopping = threading.Event()
        # run() blocks reading this pipe; signal handlers write a byte to it. A handler must
        # not set an Event the interrupted main thread may be inside (its lock is not
        # re-entrant); a write to a pipe is safe anywhere.
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_w, False)
        self._reload_wanted = False
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
        :data:`~dlrpoll.scheduling.floor.STARTUP_RATE` a second), the others when their
        interval is up. Logs each source's first planned poll."""
        now = self.clock()
        stored = reports.last_starts(self.store, [s.name for s in self._sources])
        last = {s.name: stored.get(s.name) for s in self._sources}
        hold = startup_offsets(last, {s.name: s.interval for s in self._sources}, now)
        for cfg in self._sources:
            self._add(cfg, last[cfg.name], now, hold[cfg.name])
        if self.daily is not None:
            self._scheduler.add_job(
                self._daily,
                trigger=IntervalTrigger(hours=24, timezone=UTC),
                id="__daily__",
                name="daily maintenance",
                next_run_time=now + timedelta(seconds=self.DAILY_FIRST_DELAY),
                misfire_grace_time=3600,
            )
        self._scheduler.start()
        log.info(
            "scheduler started: %d source(s), %d worker thread(s)",
            len(self._sources),
            self._workers,
        )
        if len(self._sources) > self.LOG_EACH_PLAN:
            dues = sorted(p.due for p in self._plans.values())
            log.info("first polls planned from %s to %s", _when(dues[0]), _when(dues[-1]))

    def _add(self, cfg: SourceConfig, last: datetime | None, now: datetime, hold: float) -> None:
        due = next_run_time(last, cfg.interval, now, jitter_delay(cfg.jitter, self.rand) + hold)
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
        level = logging.INFO if len(self._sources) <= self.LOG_EACH_PLAN else logging.DEBUG
        log.log(
            level,
            "source %s: first poll planned at %s (in %.0f s), then every %s",
            cfg.name,
            _when(due),
            max(0.0, (due - now).total_seconds()),
            format_duration(cfg.interval),
        )

    def stop(self) -> None:
        """Ask the daemon to stop (safe from a signal handler and from any thread)."""
        self.stopping.set()
        self._poke()

    def request_reload(self) -> None:
        """Ask :meth:`run` to reload the configuration (safe from a signal handler)."""
        self._reload_wanted = True
        self._poke()

    def _poke(self) -> None:
        with contextlib.suppress(BlockingIOError, OSError):  # full (already poked) or closed
            os.write(self._wake_w, b"!")

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
        # the wake-up pipe: forget the write end first, so a late poke writes nowhere
        write_end, self._wake_w = self._wake_w, -1
        for fd in (write_end, self._wake_r):
            with contextlib.suppress(OSError):
                os.close(fd)
        self._wake_r = -1

    def run(self, load: Callable[[], LoadedConfig] | None = None) -> int:
        """Start, serve reload requests with ``load`` until :meth:`stop`, shut down cleanly;
        the exit code (0)."""
        self.start()
        # A signal may be delivered to any thread (the scheduler's workers included), and
        # then nothing interrupts this thread's read: let the C-level handler write to the
        # pipe, so the read returns and the Python handlers run here.
        main = threading.current_thread() is threading.main_thread()
        previous = signal.set_wakeup_fd(self._wake_w) if main else -1
        try:
            while not self.stopping.is_set():
                os.read(self._wake_r, 512)  # a poke (stop, reload) or a signal's byte
                if self._reload_wanted and not self.stopping.is_set():
                    self._reload_wanted = False
                    self._reload_with(load)
        finally:
            if main:
                signal.set_wakeup_fd(previous)
            self.shutdown()
        return 0

    def _reload_with(self, load: Callable[[], LoadedConfig] | None) -> None:
        if load is None:
            log.warning("reload requested, but this daemon has no config file to reload")
            return
        try:
            config = load()
        except ConfigError as exc:
            for problem in exc.problems:
                log.error("reload refused: %s", problem)
            log.error("reload refused: the configuration in use is kept")
            return
        self.reload(config)

    def reload(self, config: LoadedConfig) -> None:
        """Adopt ``config``: sources added are planned from the database (their floor kept),
        removed ones unscheduled, changed ones re-planned with their new settings (a poll
        running now finishes with the old ones)."""
        with self._lock:
            new = {s.name: s for s in config.settings.sources if s.enabled}
            old = {s.name: s for s in self._sources}
            now = self.clock()
            last = reports.last_starts(self.store, list(new))
            self.config = config
            self._sources = list(new.values())
            for name in old.keys() - new.keys():
                self._plans.pop(name, None)
                with contextlib.suppress(JobLookupError):
                    self._scheduler.remove_job(name)
                log.info("reload: source %s removed (or disabled): no more polls", name)
            for name, cfg in new.items():
                if name not in old:
                    log.info("reload: source %s added", name)
                    self._add(cfg, last.get(name), now, 0.0)
                elif cfg != old[name]:
                    plan = self._plans[name]
                    plan.cfg, plan.source = cfg, None
                    plan.due = next_run_time(
                        last.get(name), cfg.interval, now, jitter_delay(cfg.jitter, self.rand)
                    )
                    self._scheduler.modify_job(
                        name,
                        trigger=FloorTrigger(cfg.interval, cfg.jitter, self.rand),
                        next_run_time=plan.due,
                        misfire_grace_time=int(cfg.interval),
                    )
                    log.info("reload: source %s changed; next poll at %s", name, _when(plan.due))
            log.info("reload: configuration reloaded, %d source(s)", len(new))

    def _daily(self) -> None:
        if self.daily is not None and not self.stopping.is_set():
            self.daily(self.config, self.store, self.clock())

    # -- the job ---------------------------------------------------------------------------
    def _source(self, plan: _Plan) -> Source:
        if plan.source is None:
            retry = RetryPolicy(attempts=plan.cfg.retries + 1, stop=self.stopping)
            plan.source = self.source_factory(self.config, plan.cfg, retry)
        return plan.source

    def _job(self, name: str) -> None:
        if self.stopping.is_set():
            return  # queued before the stop: do not start a new poll
        plan = self._plans.get(name)
        if plan is None:
            return  # removed by a reload after it was queued
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
            result = PollResult(name, Outcome.ERROR, error=str(exc))
            log_result(result)
        finally:
            self._replan(plan, result, clock.first or began)
        log.debug("source %s: started %.3f s after planned, next at %s", name, lag, plan.due)
        if self.on_poll is not None and result is not None:
            self.on_poll(result, lag)

    def _replan(self, plan: _Plan, result: PollResult | None, started: datetime) -> None:
        cfg = plan.cfg
        now = self.clock()
        delay = jitter_delay(cfg.jitter, self.rand)
        if result is not None and result.outcome == Outcome.SKIPPED and result.next_allowed:
            # the refusal said when: no need to read the database again
            due = after_refusal(result.next_allowed, now, delay)
        elif result is not None and result.outcome == Outcome.SKIPPED:
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
