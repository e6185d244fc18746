"""``receipts`` raises its own errors (``ParseError``, ``ProfileError``), never a config
error: it does not know where a profile came from. The layers that own configuration
(``config``, ``parsing``, the ``parse`` and ``profiles`` commands) turn ``ProfileError``
into ``ConfigError`` at their edge."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.architecture.imports import SRC


def config_error_uses(package: Path) -> list[str]:
    """``file:line`` of every use of the name ``ConfigError`` under ``package`` (imported,
    raised, caught or named in code, also as ``errors.ConfigError``) and every import of
    ``dlrpoll.config``."""
    found: list[str] = []
    for path in sorted(package.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.ImportFrom):
                hit = (node.module or "").startswith("dlrpoll.config") or any(
                    a.name == "ConfigError" for a in node.names
                )
            elif isinstance(node, ast.Import):
                hit = any(a.name.startswith("dlrpoll.config") for a in node.names)
            else:
                hit = (isinstance(node, ast.Name) and node.id == "ConfigError") or (
                    isinstance(node, ast.Attribute) and node.attr == "ConfigError"
                )
            if hit:
                found.append(f"{path.relative_to(package.parent)}:{getattr(node, 'lineno', 0)}")
    return found


def test_receipts_never_import_or_raise_a_config_error() -> None:
    assert config_error_uses(SRC / "receipts") == []


def test_the_check_sees_each_way_a_config_error_could_come_back(tmp_path: Path) -> None:
    # the checker must not be blind
    pkg = tmp_path / "receipts"
    pkg.mkdir()
    (pkg / "a.py").write_text("from dlrpoll.errors import ConfigError\n")
    (pkg / "b.py").write_text("from dlrpoll import errors\n\nraise errors.ConfigError('x')\n")
    (pkg / "c.py").write_text("import dlrpoll.config.load\n")
    (pkg / "d.py").write_text("from dlrpoll.config import Settings\n")
    (pkg / "e.py").write_text("from dlrpoll.errors import ProfileError\n")
    assert config_error_uses(pkg) == [
        "receipts/a.py:1",
        "receipts/b.py:3",
        "receipts/c.py:1",
        "receipts/d.py:1",
    ]
