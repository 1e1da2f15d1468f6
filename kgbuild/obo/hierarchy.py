"""is_a hierarchy work with networkx (an ontology fits in memory): the cycle check (the categories are
SQL: sql/terms/semantic_types.sql)."""

from __future__ import annotations

from pathlib import Path

import networkx as nx

from kgbuild.core.errors import UserError
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
