-- materialized: mart
-- One row per concept that kept at least one name; its preferred name comes from the first requested language.
with langs as (
    select * from param_langs
),

counts as (
    -- Every kept name is in a requested language, and each (cui, lang) has one preferred name: arg_min picks the
    -- one of the first language without a window over the names.
    select
        n.cui,
        count(*) as n_names,
        arg_min(n.name, l.position) filter (where n.is_preferred) as preferred_name,
    from names as n
    inner join langs as l on l.lang = n.lang
    group by n.cui
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
    c.preferred_name,
    coalesce(t.semantic_types, []::varchar[]) as semantic_types,
    c.n_names,
    d.cui is not null as has_definition,
from counts as c
left join types as t on t.cui = c.cui
left join defined as d on d.cui = c.cui
order by c.cui
