-- A readable label (MRDOC expanded_form) and the inverse of each relation used in relations.
with used as (
    select
        relation,
        count(*) as n_edges,
    from relations
    group by relation
),

labels as (
    select
        value as relation,
        any_value(expl) as label,
    from stg_umls__mrdoc
    where dockey in ('REL', 'RELA') and type = 'expanded_form'
    group by value
)

select
    u.relation,
    l.label,
    i.inverse,
    u.n_edges,
from used as u
left join labels as l on l.relation = u.relation
left join int_relation_inverses as i on i.relation = u.relation
order by u.relation
