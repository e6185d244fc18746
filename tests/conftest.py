"""Fixtures every test directory may use: the private servers (see tests/support/fixtures.py)."""

from tests.support.fixtures import *  # noqa: F403
