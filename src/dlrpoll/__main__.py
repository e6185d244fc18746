"""``python -m dlrpoll``."""

from dlrpoll.cli import run

run()
