"""Count the import circles among edgesea's modules, from grimp's import graph.

Every import counts, also one written inside a function (grimp reads them all); imports
under ``if TYPE_CHECKING:`` do not (they never run). A circle is a strongly connected group
of two or more modules. Exit status 1 when there is one (``make test`` runs this).

    python tools/import_cycles.py [-v]
"""

from __future__ import annotations

import sys

import grimp


def circles(package: str = "edgesea") -> list[list[str]]:
    """The strongly connected groups (size >= 2) of ``package``'s import graph (Tarjan)."""
    graph = grimp.build_graph(package, exclude_type_checking_imports=True)
    edges = {m: sorted(graph.find_modules_directly_imported_by(m)) for m in graph.modules}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    found: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        work = [(v, iter(edges.get(v, [])))]
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        while work:
            node, it = work[-1]
            for w in it:
                if w not in index:
                    index[w] = low[w] = counter[0]
                    counter[0] += 1
                    stack.append(w)
                    on.add(w)
                    work.append((w, iter(edges.get(w, []))))
                    break
                if w in on:
                    low[node] = min(low[node], index[w])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    group = []
                    while True:
                        w = stack.pop()
                        on.discard(w)
                        group.append(w)
                        if w == node:
                            break
                    if len(group) > 1:
                        found.append(sorted(group))

    for m in sorted(edges):
        if m not in index:
            visit(m)
    return found


def main() -> int:
    found = circles()
    print(f"{len(found)} import circles")
    if "-v" in sys.argv:
        for group in found:
            print("  " + " ".join(group))
    return 1 if found else 0


if __name__ == "__main__":
    raise SystemExit(main())
