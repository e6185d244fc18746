"""The import graph between dlrpoll's units matches ARCHITECTURE.md's allowed arrows."""

from __future__ import annotations

from tests.architecture.imports import SRC, allowed, graph, unit_of


def test_every_unit_is_placed_in_architecture_md() -> None:
    units = set(graph())
    listed = set(allowed())
    assert units - listed == set(), "units missing from ARCHITECTURE.md's allowed imports"
    assert listed - units == set(), "ARCHITECTURE.md lists units that no longer exist"


def test_every_import_between_units_is_an_allowed_arrow() -> None:
    arrows = allowed()
    wrong = {
        f"{unit} → {target}"
        for unit, targets in graph().items()
        for target in targets
        if target not in arrows.get(unit, set())
    }
    assert wrong == set(), "imports ARCHITECTURE.md does not allow (fix the code or the doc)"


def test_the_allowed_arrows_have_no_cycle() -> None:
    arrows = allowed()
    done: set[str] = set()

    def visit(unit: str, path: tuple[str, ...]) -> None:
        assert unit not in path, " → ".join((*path, unit))
        if unit in done:
            return
        for target in arrows.get(unit, set()):
            visit(target, (*path, unit))
        done.add(unit)

    for unit in arrows:
        visit(unit, ())


def test_the_graph_reader_sees_lazy_and_relative_imports() -> None:
    # the checker must not be blind: the CLI imports its layers inside functions
    edges = graph()
    assert {"status", "scheduling", "demo"} <= edges["cli"]
    assert unit_of("dlrpoll.store.engine") == "store"
    assert (SRC / "cli" / "__init__.py").exists()
