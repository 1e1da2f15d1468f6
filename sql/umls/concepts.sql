-- One row per concept that kept at least one name; its preferred name comes from the first requested language.
with names as (
    select * from int_names_ranked
),

langs as (
    select * from param_langs
),

preferred as (
    select
        n.cui,
        n.name as preferred_name,
        row_number() over (partition by n.cui order by l.position) as n,
    from names as n
    inner join langs as l on l.lang = n.lang
    where n.is_preferred
),

counts as (
    select
        cui,
        count(*) as n_names,
    from names
    group by cui
),

types as (
    select
        cui,
        -- The same as list(distinct sty order by sty), which DuckDB plans as two extra aggregations and a join.
        list_sort(list_distinct(list(sty))) as semantic_types,
    from semantic_types
    group by cui
),

defined as (
    select distinct cui from definitions
)

select
    c.cui,
    p.preferred_name,
    coalesce(t.semantic_types, []::varchar[]) as semantic_types,
    c.n_names,
    d.cui is not null as has_definition,
from counts as c
inner join preferred as p on p.cui = c.cui and p.n = 1
left join types as t on t.cui = c.cui
left join defined as d on d.cui = c.cui
order by c.cui
