-- materialized: mart
-- Parallel texts for multilingual distillation (BioLORD-2023-M), from the KG itself: each English name of a concept
-- (the preferred name, then synonyms) against each of its names in a target language, and its English definitions
-- against its definitions in that language where MRDEF gives both. A pair whose two sides are the same text up to
-- case, spacing and punctuation teaches nothing and is dropped; each (concept, language) keeps at most
-- max_parallel_per_concept pairs, best first ("round": preferred with preferred, then outwards); every pair takes
-- its concept's split, so the trainer reads train rows only and no test concept is ever distilled.
with params as (
    select * from pair_params
),

english_definitions as (
    select
        cui,
        text,
        norm_text(text) as norm,
        row_number() over (partition by cui order by hash((select seed from pair_params), cui, text), text) as rank,
    from (select distinct cui, text from int_definition_langs where lang = (select lang from pair_params))
),

foreign_definitions as (
    select
        cui,
        lang,
        text,
        norm_text(text) as norm,
        row_number() over (
            partition by cui, lang order by hash((select seed from pair_params), cui, text), text
        ) as rank,
    from (
        select distinct cui, lang, text from int_definition_langs
        where lang in (select lang from param_parallel_langs)
    )
),

candidates as (
    select
        e.name as en,
        x.name as xx,
        x.lang,
        x.cui,
        'name' as kind,
        e.name_rank + x.name_rank - 1 as round,
    from int_anchor_names as e
    inner join int_parallel_names as x on x.cui = e.cui
    cross join params as p
    where e.name_rank <= p.max_synonyms + 1 and e.norm <> x.norm
    union all
    select
        e.text as en,
        x.text as xx,
        x.lang,
        x.cui,
        'definition' as kind,
        e.rank + x.rank - 1 as round,
    from english_definitions as e
    inner join foreign_definitions as x on x.cui = e.cui
    cross join params as p
    where e.rank <= p.max_definitions and x.rank <= p.max_definitions and e.norm <> x.norm
),

capped as (
    select *
    from candidates
    qualify row_number() over (
        partition by cui, lang
        order by round, kind desc, hash((select seed from pair_params), en, xx)
    ) <= (select max_parallel_per_concept from pair_params)
),

-- the same pair under two concepts (a name two concepts share) is kept once, under the smaller cui
deduplicated as (
    select *
    from capped
    qualify row_number() over (partition by en, xx, lang order by cui) = 1
)

select
    d.en,
    d.xx,
    d.lang,
    d.cui,
    d.kind,
    s.split,
from deduplicated as d
inner join int_concept_splits as s on s.cui = d.cui
cross join params as p
order by
    d.lang,
    case s.split when 'train' then 1 when 'dev' then 2 else 3 end,
    hash(p.seed, d.cui),
    d.kind desc,
    hash(d.en),
    hash(d.xx)
