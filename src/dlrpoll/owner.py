"""Who holds a lease: a process named by host, pid and start time, and whether it still runs.

A lease row records its holder as :class:`Owner`. On the holder's own machine a lease whose
process is gone is void at once: the pid no longer runs, or runs with another start time
(the pid was reused). Elsewhere only the lease's expiry frees it, because another machine's
processes cannot be seen.

"The same machine" is decided strictly, so that a live holder is never taken for a dead one:
the host name, the kernel's boot id (``/proc/sys/kernel/random/boot_id``: a reboot is
another machine, whose pids mean nothing) and the pid namespace (two containers on one
kernel see different pids) must all match. The process start time is field 22 of
``/proc/PID/stat`` (clock ticks since boot; proc(5)). Without ``/proc`` (not Linux) the
start time is unknown, and only a pid that does not exist at all voids a lease.
"""

from __future__ import annotations

import errno
import os
import socket
from dataclasses import dataclass
from pathlib import Path

PROC = Path("/proc")


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="ascii", errors="replace").strip()
    except OSError:
        return ""


def machine() -> str:
    """This kernel instance and pid namespace: ``BOOT_ID/pid:[INODE]``, or ``""`` without
    ``/proc``."""
    boot = _read(PROC / "sys/kernel/random/boot_id")
    try:
        ns = os.readlink(PROC / "self/ns/pid")
    except OSError:
        ns = ""
    return f"{boot}/{ns}" if boot else ""


def start_ticks(pid: int) -> str | None:
    """Process ``pid``'s start time in clock ticks since boot, as text; ``None`` when no
    such process runs (or ``/proc`` cannot tell)."""
    stat = _read(PROC / str(pid) / "stat")
    if not stat:
        return None
    # the command name (field 2) is in parentheses and may hold spaces or ')': split after
    # the last ')'; the start time is field 22, the 20th after it
    fields = stat.rpartition(")")[2].split()
    return fields[19] if len(fields) > 19 else None


def pid_exists(pid: int) -> bool:
    """Whether any process has ``pid`` (signal 0 sends nothing; EPERM means it exists)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except OSError as exc:
        return exc.errno == errno.EPERM
    return True


@dataclass(frozen=True, slots=True)
class Owner:
    """A lease holder: ``host`` name, ``pid``, and ``start``, the process's identity on its
    machine (``MACHINE/TICKS``, see :func:`machine` and :func:`start_ticks`; ``""`` when
    unknown). ``pid`` 0 names a holder that is no process (a test, a label): never void
    before its expiry."""

    host: str
    pid: int = 0
    start: str = ""

    @property
    def name(self) -> str:
        """``host:pid``, as ``claimed_by`` shows it (just ``host`` for a label)."""
        return f"{self.host}:{self.pid}" if self.pid else self.host

    @property
    def machine(self) -> str:
        return self.start.rpartition("/")[0]

    @classmethod
    def this_process(cls) -> Owner:
        """The running process."""
        pid = os.getpid()
        ticks = start_ticks(pid)
        where = machine()
        start = f"{where}/{ticks}" if where and ticks else ""
        return cls(socket.gethostname(), pid, start)

    @classmethod
    def of(cls, owner: Owner | str | None) -> Owner:
        """``owner`` as an :class:`Owner`: ``None`` is this process, a string a label."""
        if owner is None:
            return cls.this_process()
        if isinstance(owner, str):
            return cls(owner)
        return owner

    def running(self) -> bool | None:
        """Whether this holder still runs: ``None`` when that cannot be known here (another
        machine, a label, or a holder recorded without its identity on a machine where a
        pid may have been reused)."""
        if self.pid <= 0 or self.host != socket.gethostname():
            return None
        here = machine()
        if self.start:
            if not here or self.machine != here:
                return None
            return start_ticks(self.pid) == self.start.rpartition("/")[2]
        if here:
            return None  # recorded without an identity here: cannot tell reuse apart
        return pid_exists(self.pid)

    def gone(self) -> bool:
        """Whether this holder certainly no longer runs (:meth:`running` is ``False``);
        ``False`` whenever in doubt."""
        return self.running() is False
