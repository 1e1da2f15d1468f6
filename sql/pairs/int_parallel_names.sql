-- materialized: table
-- The names of each concept in the target languages of the parallel table (--parallel-lang), filtered as the
-- anchor names are (not suppressed, not obsolete, not a broader or narrower "synonym"), one per normal form per
-- language; rank 1 is the language's preferred name, then a seeded hash.
with params as (
    select * from pair_params
),

kept as (
    select
        n.cui,
        n.lang,
        n.name,
        n.is_preferred,
        norm_text(n.name) as norm,
    from names as n
    where
        n.lang in (select lang from param_parallel_langs)
        and is_pair_name(n.suppress, n.tty, n.name)
),

one_per_form as (
    select
        cui,
        lang,
        norm,
        arg_min(name, {'not_preferred': not is_preferred, 'name': name}) as name,
        bool_or(is_preferred) as is_preferred,
    from kept
    where norm <> ''
    group by cui, lang, norm
)

select
    o.cui,
    o.lang,
    o.name,
    o.norm,
    row_number() over (
        partition by o.cui, o.lang order by o.is_preferred desc, hash(p.seed, o.cui, o.name), o.name
    ) as name_rank,
from one_per_form as o
cross join params as p
