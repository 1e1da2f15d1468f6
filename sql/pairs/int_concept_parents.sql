-- The parents a description names: those most sources agree on, then a seeded hash; at most max_parents.
with params as (
    select * from pair_params
),

top as (
    select
        e.cui,
        arg_max(
            e.parent_cui,
            {'n': e.n_sources, 'h': hash(p.seed, e.cui, e.parent_cui)},
            (select max_parents from pair_params)
        ) as parent_cuis,
    from int_parent_edges as e
    cross join params as p
    group by e.cui
),

flat as (
    select
        cui,
        unnest(parent_cuis) as parent_cui,
        generate_subscripts(parent_cuis, 1) as position,
    from top
)

select
    f.cui,
    list(lower_first(c.preferred_name) order by f.position) as parent_names,
from flat as f
inner join concepts as c on c.cui = f.parent_cui
group by f.cui
