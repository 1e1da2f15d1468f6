-- materialized: mart
-- Cross-lingual linking evaluation: a name of a held-out (dev/test) concept in a target language as the query, to be
-- linked to its concept among the English preferred names of linking_candidates. A query is never an English name
-- of its own concept (up to case and punctuation: a shared spelling such as "Candidiasis" tests no translation) and
-- never a name of another concept; only concepts whose candidate name is in the pairs language are asked.
with params as (
    select * from pair_params
),

held_out as (
    select cui, split from int_concept_splits where split in ('dev', 'test')
),

english_candidates as (
    select c.cui
    from concepts as c
    semi join names as n
        on n.cui = c.cui and n.name = c.preferred_name and n.lang = (select lang from pair_params)
),

form_owners as (
    select
        norm,
        count(distinct cui) as n_concepts,
    from (
        select cui, norm from int_parallel_names
        union all
        select cui, norm from int_anchor_names
    )
    group by norm
),

queries as (
    select
        x.name as query,
        x.cui,
        x.lang,
        h.split,
        hash(p.seed, x.cui, x.lang, x.name) as draw,
    from int_parallel_names as x
    inner join held_out as h on h.cui = x.cui
    semi join english_candidates as e on e.cui = x.cui
    inner join form_owners as f on f.norm = x.norm
    cross join params as p
    where
        f.n_concepts = 1
        and not exists (select 1 from int_anchor_names as a where a.cui = x.cui and a.norm = x.norm)
)

select
    query,
    cui,
    lang,
    split,
from queries
qualify row_number() over (partition by cui, lang order by draw, query)
    <= (select max_linking_queries from pair_params)
order by lang, split, cui, query
