-- materialized: table
-- Every relation name an MRREL row can be oriented to, numbered in name order: int_relation_edges groups its 63M
-- rows on this small integer rather than on the name.
with names as (
    select relation from int_relation_orientation_rules
    union
    select inverse_relation from int_relation_orientation_rules
)

select
    relation,
    (row_number() over (order by relation))::smallint as relation_id,
from names
where relation is not null
