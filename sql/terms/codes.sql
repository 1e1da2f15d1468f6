-- materialized: mart
-- Each term's own id and its xrefs as codes under UMLS source names (read by kgbuild/sources/codes.py with the one
-- namespace table sql/seeds/code_namespaces.csv), on the term's concept. A code a term gives both as its id and as
-- an xref is a 'term' row.
with concepts as (
    select * from int_term_concepts
)

select
    c.cui,
    s.sab,
    s.code,
    min(s.kind) as source,  -- 'term' < 'xref'
from stg_terms__codes as s
inner join concepts as c on c.source = s.source and c.term_id = s.term_id
group by c.cui, s.sab, s.code
order by c.cui, s.sab, s.code
