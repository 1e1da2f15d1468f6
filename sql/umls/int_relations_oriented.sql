-- Every MRREL row between kept concepts, in its canonical direction (int_relation_orientation).
-- A row "CUI1 REL CUI2 RELA" reads "CUI2 is RELA of CUI1": head = CUI2, relation = RELA or REL, tail = CUI1.
with rels as (
    select * from stg_umls__mrrel
),

edges as (
    select
        r.cui2 as head_cui,
        coalesce(o.relation, r.rela, r.rel) as relation,
        r.rel,
        r.cui1 as tail_cui,
        r.sab,
        o.inverse_rel,
        o.inverse_relation,
        case
            when o.orientation = 'flip' then true
            when o.orientation = 'by_cui' then r.cui2 > r.cui1
            else false
        end as flip,
    from rels as r
    left join int_relation_orientation as o on o.rel = r.rel and o.rela = coalesce(r.rela, '')
    where
        r.cui1 <> r.cui2
        and r.cui1 in (select cui from int_concepts_kept)
        and r.cui2 in (select cui from int_concepts_kept)
)

select
    case when flip then tail_cui else head_cui end as head_cui,
    case when flip then inverse_relation else relation end as relation,
    case when flip then inverse_rel else rel end as rel,
    case when flip then head_cui else tail_cui end as tail_cui,
    sab,
from edges
