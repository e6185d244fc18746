"""dlrpoll's import graph between its top-level packages and modules, read with ``ast`` from
the source (every import counts, also those inside functions and under TYPE_CHECKING)."""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src" / "dlrpoll"
ARCHITECTURE = ROOT / "ARCHITECTURE.md"


def unit_of(module: str) -> str:
    """``dlrpoll.store.engine`` → ``store``; ``dlrpoll`` itself → ``dlrpoll``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "dlrpoll"


def module_name(path: Path) -> str:
    rel = path.relative_to(SRC.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path) -> set[str]:
    """The dlrpoll modules ``path`` imports (relative imports resolved)."""
    module = module_name(path)
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                found.add(".".join([*base, node.module] if node.module else base))
            elif node.module == "dlrpoll":  # `from dlrpoll import retention` is that module
                for alias in node.names:
                    sub = (SRC / f"{alias.name}.py").exists() or (SRC / alias.name).is_dir()
                    found.add(f"dlrpoll.{alias.name}" if sub else "dlrpoll")
            elif node.module:
                found.add(node.module)
    return {m for m in found if m == "dlrpoll" or m.startswith("dlrpoll.")}


def graph() -> dict[str, set[str]]:
    """unit → the other units it imports, over every module under ``src/dlrpoll``."""
    edges: dict[str, set[str]] = defaultdict(set)
    for path in sorted(SRC.rglob("*.py")):
        here = unit_of(module_name(path))
        edges.setdefault(here, set())
        for target in imports_of(path):
            there = unit_of(target)
            if there != here:
                edges[here].add(there)
    return dict(edges)


def allowed() -> dict[str, set[str]]:
    """The arrows ARCHITECTURE.md allows: the lines ``unit → a, b, c`` (or ``→ nothing``;
    an indented line continues the one before) of its fenced block that follows the heading
    "Allowed imports"."""
    text = ARCHITECTURE.read_text(encoding="utf-8")
    section = text.split("## Allowed imports", 1)[1]
    block = section.split("```", 2)[1]
    out: dict[str, set[str]] = {}
    last: str | None = None
    for line in block.splitlines():
        line = line.split("#", 1)[0].rstrip()
        m = re.match(r"^([\w_]+)\s+→\s+(.*)$", line)
        if m:
            last, targets = m.group(1), m.group(2)
            out[last] = set()
        elif line.startswith(" ") and last is not None:
            targets = line
        else:
            continue
        out[last] |= {t.strip() for t in targets.split(",") if t.strip() not in ("", "nothing")}
    return out
