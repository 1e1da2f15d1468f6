-- materialized: table
-- The names of each concept usable as anchors and synonyms: the training language, not suppressed, not a broader
-- or narrower "synonym" (OBO scope), one name per normalised form; rank 1 is the preferred name, then a seeded hash.
with params as (
    select * from pair_params
),

kept as (
    select
        n.cui,
        n.name,
        n.is_preferred,
        norm_text(n.name) as norm,
    from names as n
    where
        n.lang = (select lang from pair_params)
        and is_pair_name(n.suppress, n.tty, n.name)
),

one_per_form as (
    select
        cui,
        norm,
        arg_min(name, {'not_preferred': not is_preferred, 'name': name}) as name,
        bool_or(is_preferred) as is_preferred,
    from kept
    where norm <> ''
    group by cui, norm
)

select
    o.cui,
    o.name,
    o.norm,
    row_number() over (
        partition by o.cui order by o.is_preferred desc, hash(p.seed, o.cui, o.name), o.name
    ) as name_rank,
from one_per_form as o
cross join params as p
