-- materialized: mart
-- A label that reads from head to tail, and the inverse, of each relation used in relations.
-- A relation equal to its row's REL is a REL code; otherwise it is a RELA. MRDOC's expanded forms of RELA read from
-- CUI2 to CUI1, as our head to tail ("isa": "Is a"); those of REL read from CUI1 to CUI2 ("CHD": "has child
-- relationship"), while head is CUI2: a REL is labelled with the expanded form of its inverse ("PAR": the head has
-- parent the tail). An undocumented RELA's inverse follows its name (rela_inverse_by_name), as its orientation did.
with used as (
    select
        relation,
        case when bool_and(relation = rel) then 'REL' else 'RELA' end as kind,
        any_value(rel) as rel,
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
),

inverses as (
    select
        u.relation,
        u.kind,
        u.n_edges,
        coalesce(
            i.inverse,
            case when u.kind = 'RELA' and builtin_rel_inverse(u.rel) is not null then rela_inverse_by_name(u.relation) end
        ) as inverse,
    from used as u
    left join int_relation_inverses as i on i.relation = u.relation and i.kind = u.kind
)

select
    v.relation,
    l.label,
    v.inverse,
    v.n_edges,
from inverses as v
left join labels as l
    on l.kind = v.kind and l.relation = (case when v.kind = 'REL' then v.inverse else v.relation end)
order by v.relation
