-- A readable label (MRDOC expanded_form) and the inverse of each relation used in relations.
-- A relation equal to its row's REL is a REL code; otherwise it is a RELA.
with used as (
    select
        relation,
        case when bool_and(relation = rel) then 'REL' else 'RELA' end as kind,
        count(*) as n_edges,
    from relations
    group by relation
),

labels as (
    select
        dockey as kind,
        value as relation,
        any_value(expl) as label,
    from stg_umls__mrdoc
    where dockey in ('REL', 'RELA') and type = 'expanded_form'
    group by all
)

select
    u.relation,
    l.label,
    i.inverse,
    u.n_edges,
from used as u
left join labels as l on l.relation = u.relation and l.kind = u.kind
left join int_relation_inverses as i on i.relation = u.relation and i.kind = u.kind
order by u.relation
