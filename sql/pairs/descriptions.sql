-- materialized: mart
-- One English description per concept in the BioLORD-2022 manner (template v1):
-- "<name> is <a semantic type> which is a kind of <parent>, ... and <relation phrase> <object>."
-- With name_in_descriptions false the subject is left out ("A phenotypic abnormality which is a kind of ..."), so a
-- description paired with the concept's name is no longer a string match (template "<version>-unnamed").
with params as (
    select * from pair_params
),

parts as (
    select
        c.cui,
        list_transform(c.semantic_types[1:p.max_types], lambda t: with_article(lower(t))) as types,
        list_concat(
            list_transform(
                -- a parent that is also the semantic type would say the same thing twice
                list_filter(
                    coalesce(pa.parent_names, []),
                    lambda n: not list_contains(list_transform(c.semantic_types, lambda t: lower(t)), lower(n))
                ),
                lambda n: 'is a kind of ' || n
            ),
            coalesce(fa.fact_texts, [])
        ) as clauses,
        case when p.name_in_descriptions then c.preferred_name end as subject,
        p.template_version || case when p.name_in_descriptions then '' else '-unnamed' end as template_version,
    from concepts as c
    cross join params as p
    left join int_concept_parents as pa on pa.cui = c.cui
    left join int_concept_facts as fa on fa.cui = c.cui
),

written as (
    select
        cui,
        case
            when len(types) > 0 and len(clauses) > 0
                then said(subject, array_to_string(types, ' and ') || ' which ' || join_and(clauses))
            when len(types) > 0
                then said(subject, array_to_string(types, ' and '))
            when len(clauses) > 0
                then coalesce(subject, 'Something which') || ' ' || join_and(clauses) || '.'
        end as description,
        template_version,
    from parts
)

select
    cui,
    description,
    template_version,
from written
where description is not null
order by cui
