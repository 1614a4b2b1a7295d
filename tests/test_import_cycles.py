"""No import circle in the house: the modules of zssbir_core and zssbir_desktop import each other
in one direction only. Every import counts, lazy ones inside functions and ``TYPE_CHECKING`` ones
too, since a lazy import that only dodges a circle still ties the two modules together."""

from __future__ import annotations

import grimp

PACKAGES = ("zssbir_core", "zssbir_desktop")


def import_cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """One shortest circle (first module repeated at the end) per set of modules that import each other."""
    cycles: dict[frozenset[str], list[str]] = {}
    for importer in sorted(graph.modules):
        for imported in sorted(graph.find_modules_directly_imported_by(importer)):
            way_back = graph.find_shortest_chain(importer=imported, imported=importer)
            if way_back is not None:
                cycle = [importer, *way_back]
                cycles.setdefault(frozenset(cycle), cycle)
    return list(cycles.values())


def describe(graph: grimp.ImportGraph, cycle: list[str]) -> str:
    """The circle as a chain, then the line that makes each step."""
    lines = [" -> ".join(cycle)]
    for importer, imported in zip(cycle, cycle[1:]):
        for detail in graph.get_import_details(importer=importer, imported=imported):
            lines.append(f"    {importer}:{detail['line_number']}: {detail['line_contents']}")
    return "\n".join(lines)


def test_no_import_cycles() -> None:
    graph = grimp.build_graph(*PACKAGES, cache_dir=None)
    cycles = import_cycles(graph)
    assert not cycles, "import circles:\n" + "\n".join(describe(graph, cycle) for cycle in cycles)


def test_a_circle_is_found_and_named() -> None:
    graph = grimp.ImportGraph()
    for module in ("pkg", "pkg.a", "pkg.b", "pkg.c", "pkg.d"):
        graph.add_module(module)
    for importer, imported in (("pkg.a", "pkg.b"), ("pkg.b", "pkg.c"), ("pkg.c", "pkg.a"), ("pkg.c", "pkg.d")):
        graph.add_import(importer=importer, imported=imported, line_number=1, line_contents=f"import {imported}")
    cycles = import_cycles(graph)
    assert len(cycles) == 1 and set(cycles[0]) == {"pkg.a", "pkg.b", "pkg.c"}
    assert cycles[0][0] == cycles[0][-1]
    assert describe(graph, ["pkg.a", "pkg.b", "pkg.c", "pkg.a"]).splitlines() == [
        "pkg.a -> pkg.b -> pkg.c -> pkg.a",
        "    pkg.a:1: import pkg.b",
        "    pkg.b:1: import pkg.c",
        "    pkg.c:1: import pkg.a",
    ]
