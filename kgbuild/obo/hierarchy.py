"""is_a hierarchy work with networkx (an ontology fits in memory): cycle check and top-level categories."""

from __future__ import annotations

from pathlib import Path

import networkx as nx

from kgbuild.errors import UserError
from kgbuild.obo.terms import Term


def is_a_graph(terms: list[Term], path: Path) -> nx.DiGraph:
    """child → parent edges among the kept terms; a cycle is an error naming its terms and an is_a line."""
    kept = {t.id for t in terms}
    graph = nx.DiGraph()
    graph.add_nodes_from(kept)
    for term in terms:
        for edge in term.parents:
            if edge.target in kept and edge.target != term.id:
                graph.add_edge(term.id, edge.target, line=edge.line)
    try:
        cycle = nx.find_cycle(graph)
    except nx.NetworkXNoCycle:
        return graph
    ids = " → ".join([a for a, _ in cycle] + [cycle[0][0]])
    raise UserError(
        f"is_a cycle: {ids}",
        path=path,
        line=graph.edges[cycle[-1][0], cycle[-1][1]]["line"],
        fix="an is_a hierarchy must be acyclic; remove one of these is_a lines",
    )


GENERIC_ROOT_NAMES = {"all", "thing", "entity", "root"}


def top_level_categories(graph: nx.DiGraph, names: dict[str, str]) -> dict[str, list[str]]:
    """Each term's top-level ancestors: the roots, except that a generic root (the only root, or one named like
    HPO's "All") gives way to its children ("Phenotypic abnormality", "Mode of inheritance", ...).
    A category is not its own category."""
    roots = [n for n in graph.nodes if graph.out_degree(n) == 0 and graph.in_degree(n) > 0]
    tops: set[str] = set()
    for root in roots:
        generic = len(roots) == 1 or names.get(root, "").strip().lower() in GENERIC_ROOT_NAMES
        tops.update(graph.predecessors(root) if generic else [root])
    categories: dict[str, list[str]] = {}
    for top in sorted(tops):
        for term in nx.ancestors(graph, top):  # edges point to parents: ancestors() are the terms below `top`
            categories.setdefault(term, []).append(top)
    return categories
