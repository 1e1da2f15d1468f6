-- materialized: table
-- The language of each UMLS/OBO definition, where the KG tells it: MRDEF names the atom a definition belongs to
-- (definitions.source_id), and a kept atom has a language. NULL when the atom was not kept (a KG extracted without
-- that language) or the source_id is no atom (OBO definitions, literal test KGs).
select distinct
    d.cui,
    trim(d.definition) as text,
    n.lang,
from definitions as d
left join names as n on n.aui = d.source_id and n.cui = d.cui
where d.origin <> 'llm' and trim(d.definition) <> ''
