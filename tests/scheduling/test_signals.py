"""Signals against real ``dlrpoll`` child processes: SIGINT stops ``poll`` at a safe point,
recorded ``interrupted``, exit 130; SIGHUP makes ``run`` reload its config (and refuse a
broken one, keeping the old); ``run`` logs its plan and writes the metrics file at start."""

from __future__ import annotations

import queue
import signal
import subprocess
import threading
from pathlib import Path

from dlrpoll.sandbox.pop3_server import Pop3Sandbox
from tests.scheduling.test_processes import POP3_CONFIG, dlrpoll, query, receipt_mail
from tests.support.metrics import value


class Lines:
    """A child's stderr, line by line, waited on with a timeout."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.seen: list[str] = []
        self._queue: queue.Queue[str] = queue.Queue()
        self._thread = threading.Thread(target=self._read, args=(proc,), daemon=True)
        self._thread.start()

    def _read(self, proc: subprocess.Popen[str]) -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            self._queue.put(line)

    def wait_for(self, text: str, timeout: float = 30) -> str:
        for line in self.seen:
            if text in line:
                return line
        while True:
            try:
                line = self._queue.get(timeout=timeout)
            except queue.Empty:
                raise AssertionError(
                    f"no line with {text!r}; seen:\n{''.join(self.seen)}"
                ) from None
            self.seen.append(line)
            if text in line:
                return line

    def text(self) -> str:
        return "".join(self.seen)

    def everything(self) -> str:
        """Every line, once the child has closed its stderr."""
        self._thread.join(30)
        while not self._queue.empty():
            self.seen.append(self._queue.get())
        return self.text()


def test_sigint_stops_poll_at_a_safe_point_recorded_interrupted_exit_130(tmp_path: Path) -> None:
    with Pop3Sandbox(password="pw") as box:
        uids = [box.add(receipt_mail(n)) for n in range(6)]
        (tmp_path / "pw").write_text("pw\n")
        (tmp_path / "pw").chmod(0o600)  # a secret: not world-readable
        (tmp_path / "dlrpoll.toml").write_text(POP3_CONFIG.format(port=box.port))
        held = box.hold_retr(3)  # inside the second batch of two
        proc = dlrpoll("poll", "--config", "dlrpoll.toml", cwd=tmp_path)
        with proc:
            try:
                assert held.wait(30)
                proc.send_signal(signal.SIGINT)
                lines = Lines(proc)
                lines.wait_for("received SIGINT")
                box.resume()
                assert proc.wait(timeout=30) == 130, lines.text()
                assert proc.stdout is not None
                out = proc.stdout.read()
            finally:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
        remaining = set(box.uids())
    db = tmp_path / "dlr.sqlite"
    journaled = {r for (r,) in query(db, "select remote_id from raw_messages")}
    assert journaled and remaining and journaled | remaining == set(uids)
    assert query(db, "select outcome from poll_runs") == [("interrupted",)]
    # the result is printed once, on stdout, and not again in the log
    assert out.count("box: interrupted: stopped by a signal") == 1, out
    log = lines.everything()
    assert "received SIGINT" in log and "poll box:" not in log


def test_sighup_reloads_and_a_broken_config_is_refused(tmp_path: Path) -> None:
    metrics = tmp_path / "dlrpoll.prom"
    with Pop3Sandbox(password="pw") as one, Pop3Sandbox(password="pw") as two:
        (tmp_path / "pw").write_text("pw\n")
        (tmp_path / "pw").chmod(0o600)  # a secret: not world-readable
        config = tmp_path / "dlrpoll.toml"
        first = POP3_CONFIG.format(port=one.port)
        second = "[[sources]]" + POP3_CONFIG.format(port=two.port).split("[[sources]]", 1)[1]
        config.write_text(first)
        proc = dlrpoll(
            "run", "--config", "dlrpoll.toml", "--metrics-file", str(metrics), cwd=tmp_path
        )
        lines = Lines(proc)
        with proc:
            try:
                lines.wait_for("source box: first poll planned at")
                # written at start, before the first poll has ended
                assert value(metrics.read_text(), "dlrpoll_metrics_written_timestamp_seconds") > 0
                lines.wait_for("poll box: ok")
                # a new source: planned at once (never polled, so due)
                config.write_text(first + second.replace('name = "box"', 'name = "box2"'))
                proc.send_signal(signal.SIGHUP)
                lines.wait_for("reload: source box2 added")
                lines.wait_for("poll box2: ok")
                # a broken config is refused with its errors; the daemon goes on with the old
                config.write_text(first + 'interval = "30s"\n')
                proc.send_signal(signal.SIGHUP)
                lines.wait_for("reload refused: sources[0].interval")
                lines.wait_for("reload refused: the configuration in use is kept")
                assert proc.poll() is None
                proc.send_signal(signal.SIGTERM)
                assert proc.wait(timeout=30) == 0, lines.text()
            finally:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
    runs = query(tmp_path / "dlr.sqlite", "select source, outcome from poll_runs order by id")
    assert runs == [("box", "ok"), ("box2", "ok")]
