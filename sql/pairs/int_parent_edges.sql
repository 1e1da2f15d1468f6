-- materialized: view
-- Hierarchical edges, child -> parent: rel CHD (UMLS) or relation isa / is_a (UMLS RELA, OBO), counted over sources.
select
    head_cui as cui,
    tail_cui as parent_cui,
    count(*) as n_sources,
from relations
where rel = 'CHD' or relation in ('isa', 'is_a')
group by head_cui, tail_cui
