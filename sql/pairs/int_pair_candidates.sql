-- materialized: view
-- Every (anchor, positive) a concept could give, before caps, as keys only (texts are joined back in pairs.sql,
-- so the cap's sort moves no long strings): its top names with each of its texts, and its preferred name with
-- each synonym. "round" orders a concept's pairs so a cap keeps every kind's best first. A pair is trivial when
-- both sides have the same normal form; names are one per normal form, and a description is the name and more,
-- so only definitions need the check.
with params as (
    select * from pair_params
),

text_pairs as (
    select
        a.cui,
        a.name_rank as anchor_rank,
        t.kind,
        t.text_rank as positive_rank,
        a.name_rank + t.text_rank - 1 as round,
        a.norm is not distinct from t.norm as trivial,
    from int_anchor_names as a
    inner join int_concept_texts as t on t.cui = a.cui
    cross join params as p
    where a.name_rank <= p.max_anchor_names
),

synonym_pairs as (
    select
        s.cui,
        1 as anchor_rank,
        'synonym' as kind,
        s.name_rank as positive_rank,
        s.name_rank - 1 as round,
        false as trivial,
    from int_anchor_names as s
    cross join params as p
    where s.name_rank between 2 and p.max_synonyms + 1
)

select * from text_pairs
union all
select * from synonym_pairs
