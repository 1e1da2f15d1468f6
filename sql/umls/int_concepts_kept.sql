-- materialized: table
-- The concepts that kept at least one name: every other table is restricted to them. concept_id numbers them in
-- cui order, so the 63M MRREL rows join, group and sort on integers instead of strings.
with kept as (
    select distinct cui from names
)

select
    cui,
    (row_number() over (order by cui))::integer as concept_id,
from kept
