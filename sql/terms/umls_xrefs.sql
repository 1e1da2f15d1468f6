-- materialized: mart
-- The UMLS CUIs a concept's terms give (an xref to UMLS, or an id that is a CUI).
with concepts as (
    select * from int_term_concepts
)

select distinct c.cui, s.code as umls_cui,
from stg_terms__codes as s
inner join concepts as c on c.source = s.source and c.term_id = s.term_id
where s.sab = 'UMLS'
order by c.cui, s.code
