"""Compression bombs (issue 11, behaviour 8): a small gzip or deflate body that inflates to
far more than ``max_response_size`` is cut at the cap while it is read, in memory bounded by
the cap (traced with ``tracemalloc``), and the poll fails loudly with what arrived journaled;
in destructive mode the error says the provider has marked the messages read."""

from __future__ import annotations

import gc
import tracemalloc
from collections.abc import Callable
from dataclasses import replace
from typing import Any, TypeVar

import pytest

from tests.soap.stacks import render
from tests.soap.stacks.server import Flavour, Stack
from tests.soap.test_stacks import MODES, N, expected, stack_toml, texts

T = TypeVar("T")
KiB, MiB = 1024, 1024 * 1024
CAP = 64 * KiB
#: what a poll of this small stack may hold at its peak: the cap a few times over, and far
#: below one inflated chunk (64 KiB of compressed spaces inflate to 64 MiB)
PEAK_LIMIT = 8 * MiB


def traced(fn: Callable[[], T]) -> tuple[T, int]:
    """``fn()`` and the peak memory traced while it ran."""
    gc.collect()
    tracemalloc.start()
    try:
        result = fn()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return result, peak


def test_the_bombs_inflate_far_past_the_cap() -> None:
    """The test's premise: the bodies are small and inflate to 1024 times the cap."""
    import gzip
    import zlib

    head, tail = b"<a>", b"</a>"
    for gzip_format in (True, False):
        body = render.bomb(head, tail, render.BOMB_MIB, gzip_format=gzip_format)
        assert len(body) < 2 * CAP
        plain = gzip.decompress(body) if gzip_format else zlib.decompress(body)
        assert len(plain) == render.BOMB_MIB * MiB + 7 and plain.startswith(head)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("encoding", ["gzip", "deflate"])
def test_a_compression_bomb_is_cut_at_the_cap_in_bounded_memory(
    encoding: str, mode: str, deploy: Any, caplog: pytest.LogCaptureFixture
) -> None:
    with Stack(Flavour("bomb", framing=f"{encoding}-bomb")) as stack:
        ids = stack.load(texts())
        dep = deploy(stack_toml(stack, mode, extra=f"max_response_size = {CAP}"))
        source = dep.source()
        source.service()  # the WSDL is loaded (and cached) outside the traced poll

        result, peak = traced(lambda: dep.poll(source))

        assert peak < PEAK_LIMIT, f"peak {peak / MiB:.1f} MiB"
        error = result.error or ""
        assert result.outcome == "error", error
        assert f"exceeds max_response_size ({CAP} bytes)" in error
        [(_rid, payload, reason)] = dep.journal("soap-envelope")
        assert len(payload) == CAP and reason in error
        assert "exceeds max_response_size" in caplog.text  # said at ERROR too
        first = ids[:3] if mode == "destructive" else ids[:1]
        assert all(mid.encode() in payload for mid in first)  # the part that arrived
        assert dep.message_ids() == []
        if mode == "destructive":
            assert "the provider has marked the messages in this response read" in error
            assert "receipts in the rest are not in the journal" in error
            assert stack.unread() == ids[3:]  # the bombed batch is gone from the server
        else:
            assert "marked the messages" not in error
            assert stack.unread() == ids  # nothing was marked read

        # the server answers plainly again: the rest is stored, each receipt once
        stack.flavour = replace(stack.flavour, framing=encoding)
        again = dep.poll()
        assert again.outcome == "ok", again.error
        lost = 3 if mode == "destructive" else 0
        assert again.stored == N - lost and stack.unread() == []
        assert sorted(dep.message_ids()) == expected()[lost:]
        assert dep.poll().stored == 0


def test_a_gzip_bombed_wsdl_is_refused_at_the_cap(deploy: Any) -> None:
    with Stack(Flavour("wsdl-bomb", wsdl_bomb=True)) as stack:
        ids = stack.load(texts())
        dep = deploy(stack_toml(stack, "destructive", extra=f"max_response_size = {CAP}"))
        result, peak = traced(dep.poll)
        assert peak < PEAK_LIMIT, f"peak {peak / MiB:.1f} MiB"
        assert result.outcome == "error"
        assert f"is larger than max_response_size ({CAP} bytes)" in (result.error or "")
        assert stack.unread() == ids and stack.canned.posts() == []
