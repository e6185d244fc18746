"""Token sources ``command`` and ``file`` for real (programs and files), and the in-memory
cache with an injected clock."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

from dlrpoll.errors import SourceAuthError, SourceTimeoutError
from dlrpoll.sources.oauth import AccessToken, CommandToken, FileToken, TokenCache
from tests.support.token_server import fake_jwt

NOW = 2_000_000_000.0


def script(tmp_path: Path, body: str) -> list[str]:
    path = tmp_path / "token-helper.py"
    path.write_text(body)
    return [sys.executable, str(path)]


def test_command_prints_a_token(tmp_path: Path) -> None:
    argv = script(tmp_path, "import sys; print('opaque-token-' + sys.argv[1])")
    token = CommandToken("box", [*argv, "dlr"], timeout=10).fetch(NOW)
    assert token.value == "opaque-token-dlr"
    assert token.expires_at is None
    assert "opaque" not in repr(token)


def test_command_jwt_expiry_is_read(tmp_path: Path) -> None:
    jwt_token = fake_jwt({"exp": NOW + 600})
    argv = script(tmp_path, f"print({jwt_token!r})")
    assert CommandToken("box", argv, timeout=10).fetch(NOW).expires_at == NOW + 600


def test_command_failure_quotes_its_stderr(tmp_path: Path) -> None:
    argv = script(tmp_path, "import sys; sys.stderr.write('refresh token revoked\\n'); sys.exit(3)")
    with pytest.raises(SourceAuthError, match=r"exit status 3: 'refresh token revoked'"):
        CommandToken("box", argv, timeout=10).fetch(NOW)


def test_command_that_cannot_run_or_hangs(tmp_path: Path) -> None:
    with pytest.raises(SourceAuthError, match="cannot run token command"):
        CommandToken("box", [str(tmp_path / "missing")], timeout=10).fetch(NOW)
    argv = script(tmp_path, "import time; time.sleep(30)")
    with pytest.raises(SourceTimeoutError, match="did not finish within 0.3 s"):
        CommandToken("box", argv, timeout=0.3).fetch(NOW)


@pytest.mark.parametrize(
    ("printed", "error"),
    [("", "no access token"), ("tok1\ntok2", "more than one access token"),
     (fake_jwt({"exp": NOW - 5}), "expired 5 s ago")],
)  # fmt: skip
def test_command_output_must_be_one_valid_token(tmp_path: Path, printed: str, error: str) -> None:
    argv = script(tmp_path, f"print({printed!r})")
    with pytest.raises(SourceAuthError, match=error):
        CommandToken("box", argv, timeout=10).fetch(NOW)


def test_file_token_is_read_at_every_fetch(tmp_path: Path) -> None:
    path = tmp_path / "m365.token"
    source = FileToken("box", path)
    with pytest.raises(SourceAuthError, match="cannot read token file"):
        source.fetch(NOW)
    path.write_text("first-token\n")
    assert source.fetch(NOW).value == "first-token"
    path.write_text(fake_jwt({"exp": NOW + 60}))  # the keeper process rewrote it
    assert source.fetch(NOW).expires_at == NOW + 60
    path.write_text(fake_jwt({"exp": NOW - 1}))
    with pytest.raises(SourceAuthError, match="token file .* expired"):
        source.fetch(NOW)


class Counting:
    """A token source that counts its fetches (a fake: this is a unit test of the cache)."""

    description = "counting source"

    def __init__(self, lifetime: float | None) -> None:
        self.lifetime = lifetime
        self.fetches = 0

    def fetch(self, now: float) -> AccessToken:
        self.fetches += 1
        expires = None if self.lifetime is None else now + self.lifetime
        return AccessToken(f"t{self.fetches}", expires)


def test_cache_refreshes_shortly_before_expiry() -> None:
    clock = [NOW]
    source = Counting(lifetime=3600)
    cache = TokenCache(source, clock=lambda: clock[0], margin=300)
    assert cache.get() == (AccessToken("t1", NOW + 3600), True)
    clock[0] = NOW + 3600 - 301
    assert cache.get() == (AccessToken("t1", NOW + 3600), False)
    clock[0] = NOW + 3600 - 299  # inside the margin: a new one, before the old one expires
    token, fresh = cache.get()
    assert (token.value, fresh, source.fetches) == ("t2", True, 2)
    cache.invalidate()
    assert cache.get()[0].value == "t3"


def test_cache_margin_is_at_most_half_a_short_lifetime() -> None:
    clock = [NOW]
    source = Counting(lifetime=120)
    cache = TokenCache(source, clock=lambda: clock[0], margin=300)
    cache.get()
    clock[0] = NOW + 59
    assert cache.get()[1] is False
    clock[0] = NOW + 61
    assert cache.get()[1] is True


def test_tokens_without_expiry_are_not_kept() -> None:
    source = Counting(lifetime=None)
    cache = TokenCache(source, clock=time.time)
    cache.get()
    cache.get()
    assert source.fetches == 2
