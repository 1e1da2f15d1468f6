-- Distinct directed edges between kept concepts; self-loops were dropped upstream.
select distinct
    head_cui,
    relation,
    rel,
    tail_cui,
    sab,
from int_relations_oriented
order by head_cui, relation, tail_cui, sab
