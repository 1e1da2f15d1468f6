-- materialized: mart
-- The label and inverse of each relation used: is_a reads "is a"; another relation its Typedef's name and
-- inverse_of (the earliest source that defines it), none when no source does.
with used as (
    select relation, count(*) as n_edges,
    from relations
    group by relation
),

types as (
    select relation, arg_min(label, source) as label, arg_min(inverse, source) as inverse,
    from stg_terms__relation_types
    group by relation
)

select
    u.relation,
    case when u.relation = 'is_a' then 'is a' else t.label end as label,
    case when u.relation = 'is_a' then null else t.inverse end as inverse,
    u.n_edges,
from used as u
left join types as t on t.relation = u.relation
order by u.relation
