-- materialized: table
-- The orientation rules with the relation names as relation_id (int_relation_names).
select
    o.*,
    n.relation_id,
    i.relation_id as inverse_relation_id,
from int_relation_orientation_rules as o
left join int_relation_names as n on n.relation = o.relation
left join int_relation_names as i on i.relation = o.inverse_relation
