-- One edge per (head_cui, relation, tail_cui, sab); self-loops and dropped rows were set aside upstream.
-- concept_id follows cui order, so sorting on it sorts on the cuis.
with edges as (
    select * from int_relation_edges
),

kept as (
    select * from int_concepts_kept
),

names as (
    select * from int_relation_names
)

select
    h.cui as head_cui,
    coalesce(n.relation, e.unknown_relation) as relation,
    e.rel,
    t.cui as tail_cui,
    e.sab,
from edges as e
inner join kept as h on h.concept_id = e.head_id
inner join kept as t on t.concept_id = e.tail_id
left join names as n on n.relation_id = e.relation_id
order by e.head_id, relation, e.tail_id, e.sab
