"""Access tokens: where they come from (a command, a file; Microsoft and Google in their own
modules) and the in-memory cache that refreshes them shortly before they expire.

A token is a credential: :class:`AccessToken` never shows its value in ``repr``, nothing here
logs it, and nothing stores it anywhere but in this process's memory.
"""

from __future__ import annotations

import logging
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from dlrpoll.errors import SourceAuthError, SourceTimeoutError
from dlrpoll.sources.oauth.jwt import expiry

__all__ = [
    "REFRESH_MARGIN",
    "AccessToken",
    "CommandToken",
    "FileToken",
    "TokenCache",
    "TokenSource",
]

log = logging.getLogger(__name__)

#: A cached token is replaced when it has less than this many seconds left (or less than half
#: its lifetime, for short-lived ones), so that it never expires in the middle of a sign-in.
REFRESH_MARGIN = 300.0
#: Longest token output we read from a command (a JWT is a few KB).
_MAX_TOKEN = 64 * 1024

Clock = Callable[[], float]


@dataclass(frozen=True)
class AccessToken:
    """An access token and when it expires (Unix seconds; ``None``: unknown)."""

    value: str = field(repr=False)
    expires_at: float | None = None

    def __repr__(self) -> str:
        return f"AccessToken(******, expires_at={self.expires_at})"


class TokenSource(Protocol):
    """Where a source's access tokens come from. ``description`` names it in messages
    (``token command /usr/local/bin/m365-token``), never with a secret in it."""

    description: str

    def fetch(self, now: float) -> AccessToken:
        """A new access token. Raises :class:`~dlrpoll.errors.SourceAuthError` when the
        token provider refuses (with its reason and the fix), a temporary source error when
        it cannot be reached."""
        ...


def _check_token(source: str, where: str, text: str, now: float) -> AccessToken:
    token = text.strip()
    if not token:
        raise SourceAuthError(source, f"{where} gave no access token (empty)")
    if any(c.isspace() for c in token) or not token.isprintable():
        raise SourceAuthError(
            source,
            f"{where} gave more than one access token, or a token with spaces or control "
            "characters in it; it must give the token alone",
        )
    expires_at = expiry(token)
    if expires_at is not None and expires_at <= now:
        raise SourceAuthError(
            source,
            f"{where} gave an access token that expired {int(now - expires_at)} s ago; the "
            "program that renews it may have stopped",
        )
    return AccessToken(token, expires_at)


class CommandToken:
    """``token = { command = [...] }``: run a program that prints an access token on stdout,
    as mail fetchers' token helpers do (``mutt_oauth2.py``, ``oauth2ms``). It runs without a
    shell, with stdin closed, under ``timeout`` seconds; what it prints on stderr is quoted
    (its last line) when it fails."""

    def __init__(self, source: str, argv: Sequence[str], timeout: float) -> None:
        self.source = source
        self.argv = list(argv)
        self.timeout = timeout
        self.description = f"token command {self.argv[0]}"

    def fetch(self, now: float) -> AccessToken:
        try:
            proc = subprocess.run(
                self.argv,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                timeout=self.timeout,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise SourceTimeoutError(
                self.source,
                f"{self.description} did not finish within {self.timeout:g} s; check it by "
                "hand, or raise the source's timeout",
            ) from exc
        except OSError as exc:
            raise SourceAuthError(
                self.source,
                f"cannot run {self.description}: {exc.strerror or exc}; check token.command "
                "(the program's full path, executable by dlrpoll's user)",
            ) from exc
        if proc.returncode != 0:
            lines = proc.stderr.decode("utf-8", "replace").strip().splitlines()
            said = f": {lines[-1][:300]!r}" if lines else " (nothing on stderr)"
            raise SourceAuthError(
                self.source,
                f"{self.description} failed with exit status {proc.returncode}{said}; run it "
                "by hand as dlrpoll's user to see why",
            )
        if len(proc.stdout) > _MAX_TOKEN:
            raise SourceAuthError(self.source, f"{self.description} printed more than a token")
        return _check_token(
            self.source, self.description, proc.stdout.decode("utf-8", "replace"), now
        )


class FileToken:
    """``token = { file = "PATH" }``: a file holding the access token, kept fresh by another
    process; read at every sign-in (it is rewritten behind our back)."""

    def __init__(self, source: str, path: Path) -> None:
        self.source = source
        self.path = path
        self.description = f"token file {path}"

    def fetch(self, now: float) -> AccessToken:
        try:
            with open(self.path, "rb") as fh:
                data = fh.read(_MAX_TOKEN + 1)
        except OSError as exc:
            raise SourceAuthError(
                self.source,
                f"cannot read {self.description}: {exc.strerror or exc}; check token.file and "
                "that the process that writes it is running",
            ) from exc
        if len(data) > _MAX_TOKEN:
            raise SourceAuthError(self.source, f"{self.description} holds more than a token")
        return _check_token(self.source, self.description, data.decode("utf-8", "replace"), now)


class TokenCache:
    """One source's tokens, kept in memory and replaced shortly before they expire
    (:data:`REFRESH_MARGIN`). A token without a known expiry is not kept: it is fetched at
    every sign-in (a command's or a file's opaque token). Thread-safe."""

    def __init__(
        self, source: TokenSource, *, clock: Clock = time.time, margin: float = REFRESH_MARGIN
    ) -> None:
        self.source = source
        self.clock = clock
        self.margin = margin
        self._token: AccessToken | None = None
        self._refresh_at = 0.0
        self._lock = threading.Lock()

    @property
    def description(self) -> str:
        return self.source.description

    def get(self) -> tuple[AccessToken, bool]:
        """A token good for a while, and whether it was just fetched (``False``: from the
        cache, so a refusal may mean it was revoked and a fresh one is worth a try)."""
        with self._lock:
            now = self.clock()
            if self._token is not None and now < self._refresh_at:
                return self._token, False
            token = self.source.fetch(now)
            if token.expires_at is None:
                self._token = None
            else:
                lifetime = token.expires_at - now
                self._token = token
                self._refresh_at = token.expires_at - min(self.margin, lifetime / 2)
                log.debug(
                    "new access token from %s, valid for %d s",
                    self.source.description,
                    int(lifetime),
                )
            return token, True

    def invalidate(self) -> None:
        """Forget the cached token (the server refused it)."""
        with self._lock:
            self._token = None
