-- materialized: mart
-- The linking search space: one preferred name per concept of the knowledge graph (all splits).
select
    cui,
    preferred_name as name,
from concepts
order by cui
