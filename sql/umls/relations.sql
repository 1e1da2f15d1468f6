-- One edge per (head_cui, relation, tail_cui, sab); self-loops were dropped upstream. A RELA can come with
-- several RELs (RO and CHD both carrying isa, say): the smallest REL code is kept so reruns agree.
select
    head_cui,
    relation,
    min(rel) as rel,
    tail_cui,
    sab,
from int_relations_oriented
group by head_cui, relation, tail_cui, sab
order by head_cui, relation, tail_cui, sab
