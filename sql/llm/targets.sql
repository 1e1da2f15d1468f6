-- The concepts to define, in send order: without a definition unless $only_missing is false; most-connected
-- first unless $order = 'cui'; at most $limit. shared_name marks concepts whose preferred name another target
-- also has: only those can end up with the same prompt (and request key) as another concept.
with degree as (
    select cui, count(*) as degree
    from (
        select head_cui as cui from relations
        union all
        select tail_cui as cui from relations
    )
    group by cui
),

ranked as (
    select
        row_number() over (
            order by case when $order = 'degree' then coalesce(d.degree, 0) else 0 end desc, c.cui
        ) - 1 as ord,
        c.cui,
        c.preferred_name,
        coalesce(c.semantic_types, []) as semantic_types,
    from concepts as c
    left join degree as d on d.cui = c.cui
    where not $only_missing or not c.has_definition
    qualify ord < $limit
)

select
    ord,
    cui,
    preferred_name,
    semantic_types,
    count(*) over (partition by lower(preferred_name)) > 1 as shared_name,
from ranked
order by ord
