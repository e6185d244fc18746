"""``poplib`` clients that never leak a socket, and closing one without a word."""

from __future__ import annotations

import poplib
import ssl

__all__ = ["POP3", "POP3_SSL", "close"]


class POP3(poplib.POP3):
    """``poplib.POP3`` that closes its socket when the greeting fails (poplib leaks it)."""

    def __init__(self, host: str, port: int, timeout: float) -> None:
        try:
            super().__init__(host, port, timeout=timeout)
        except BaseException:
            _close_partial(self)
            raise


class POP3_SSL(poplib.POP3_SSL):
    """``poplib.POP3_SSL`` that closes its socket when the greeting fails."""

    def __init__(self, host: str, port: int, timeout: float, context: ssl.SSLContext | None):
        try:
            super().__init__(host, port, timeout=timeout, context=context)
        except BaseException:
            _close_partial(self)
            raise


def _close_partial(client: poplib.POP3) -> None:
    for attr in ("file", "sock"):
        obj = getattr(client, attr, None)
        if obj is not None:
            try:
                obj.close()
            except OSError:
                pass


def close(client: poplib.POP3) -> None:
    """Close the connection without a word to the server (it forgets the deletes)."""
    try:
        client.close()
    except OSError:
        pass
