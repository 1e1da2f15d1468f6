-- materialized: view
-- Hierarchical edges, child -> parent (is_a_edge, sql/_kg.sql: REL CHD or an is-a relation), counted over sources.
select
    head_cui as cui,
    tail_cui as parent_cui,
    count(*) as n_sources,
from relations
where is_a_edge(rel, relation)
group by head_cui, tail_cui
