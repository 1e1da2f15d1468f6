-- materialized: table
-- The parents a description names: those most sources agree on, then a seeded hash; at most max_parents.
with params as (
    select * from pair_params
),

top as (
    select
        e.cui,
        e.parent_cui,
        row_number() over (
            partition by e.cui order by e.n_sources desc, hash(p.seed, e.cui, e.parent_cui)
        ) as position,
    from int_parent_edges as e
    cross join params as p
    qualify position <= p.max_parents
)

select
    t.cui,
    list(lower_first(c.preferred_name) order by t.position) as parent_names,
from top as t
inner join concepts as c on c.cui = t.parent_cui
group by t.cui
