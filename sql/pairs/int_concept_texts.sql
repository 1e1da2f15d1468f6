-- materialized: table
-- The texts a concept's names are paired with: UMLS/OBO definitions, LLM definitions (status ok only) and the
-- KG description; distinct per concept and kind, at most max_definitions / max_llm_definitions of each; only
-- definitions in the pairs language (or of unknown language).
with params as (
    select * from pair_params
),

-- a definition whose atom is in another language (a KG extracted with several --lang) is no English text:
-- it is kept out here and paired with its translation in parallel.sql instead
other_language as (
    select
        d.cui,
        d.text,
    from int_definition_langs as d
    group by d.cui, d.text
    having bool_and(d.lang is not null and d.lang <> (select lang from pair_params))
),

definition_texts as (
    select
        d.cui,
        trim(d.definition) as text,
        case when d.origin = 'llm' then 'llm_definition' else 'definition' end as kind,
    from definitions as d
    anti join other_language as o on o.cui = d.cui and o.text = trim(d.definition)
    union all
    select
        cui,
        trim(text) as text,
        'llm_definition' as kind,
    from llm_definitions
    where status = 'ok' and text is not null
),

distinct_texts as (
    select distinct cui, text, kind from definition_texts where text <> '' and cui is not null
),

ranked as (
    select
        d.cui,
        d.text,
        d.kind,
        row_number() over (partition by d.cui, d.kind order by hash(p.seed, d.cui, d.text), d.text) as text_rank,
    from distinct_texts as d
    cross join params as p
)

select
    r.cui,
    r.text,
    r.kind,
    r.text_rank,
    norm_text(r.text) as norm,
from ranked as r
cross join params as p
where
    (r.kind = 'definition' and r.text_rank <= p.max_definitions)
    or (r.kind = 'llm_definition' and r.text_rank <= p.max_llm_definitions)
union all
-- one description per concept, never equal to a name (it is the name and more): no ranking, no normal form
select
    cui,
    description as text,
    'description' as kind,
    1 as text_rank,
    null as norm,
from descriptions
