-- materialized: mart
-- Each term's definition (OBO def:, a dictionary's definition column) on its concept, in input order.
with concepts as (
    select * from int_term_concepts
)

select
    c.cui,
    t.term_id as source_id,
    t.sab,
    t.definition,
    'obo' as origin,
from stg_terms__terms as t
inner join concepts as c on c.source = t.source and c.term_id = t.term_id
where t.definition is not null
order by t.source, t.position
