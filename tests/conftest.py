"""Fixtures every test directory may use: the private servers (see tests/support/fixtures.py)."""

import sys

import pytest

from tests.support.fixtures import *  # noqa: F403


@pytest.fixture(autouse=True)
def _fresh_wsdl_cache() -> None:
    """Each test loads its WSDLs afresh: servers of earlier tests may have had the same
    address (a port reused) and another WSDL. Only when the SOAP source was imported at all,
    so tests that never touch SOAP never import zeep."""
    wsdl = sys.modules.get("dlrpoll.sources.soap.wsdl")
    if wsdl is not None:
        wsdl.forget_loaded_wsdls()
