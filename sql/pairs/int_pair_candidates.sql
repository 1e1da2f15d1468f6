-- Every (anchor, positive) a concept could give, before caps: its top names with each of its texts, and its
-- preferred name with each synonym. "round" orders a concept's pairs so a cap keeps every kind's best first.
with params as (
    select * from pair_params
),

anchors as (
    select a.*
    from int_anchor_names as a
    cross join params as p
    where a.name_rank <= p.max_anchor_names
),

text_pairs as (
    select
        a.name as anchor,
        t.text as positive,
        a.cui,
        t.kind,
        a.name_rank + t.text_rank - 1 as round,
        a.norm as anchor_norm,
        t.norm as positive_norm,
    from anchors as a
    inner join int_concept_texts as t on t.cui = a.cui
),

synonym_pairs as (
    select
        pref.name as anchor,
        syn.name as positive,
        pref.cui,
        'synonym' as kind,
        syn.name_rank - 1 as round,
        pref.norm as anchor_norm,
        syn.norm as positive_norm,
    from int_anchor_names as pref
    inner join int_anchor_names as syn on syn.cui = pref.cui
    cross join params as p
    where pref.name_rank = 1 and syn.name_rank between 2 and p.max_synonyms + 1
)

select * from text_pairs
union all
select * from synonym_pairs
