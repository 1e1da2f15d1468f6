-- materialized: table
-- One edge per (head, relation, tail, sab), both directions of MRREL collapsed. A RELA can come with several RELs
-- (RO and CHD both carrying isa, say): the smallest REL code is kept so reruns agree. The dropped rows form one
-- group with null keys; n_rows sums to the MRREL row count, checked against MRFILES.
select
    case when is_selected then head_id end as head_id,
    case when is_selected then relation_id end as relation_id,
    case when is_selected then unknown_relation end as unknown_relation,
    min(rel) as rel,
    case when is_selected then tail_id end as tail_id,
    case when is_selected then sab end as sab,
    count(*) as n_rows,
from int_relations_oriented
group by all
