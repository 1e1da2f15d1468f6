-- materialized: view
-- The name and version each input gives its own vocabulary (an ontology's header, a dictionary's --vocab-name and
-- --vocab-version), as sources.sql reads them for a UMLS release from MRSAB; no language or restriction level.
select sab, name, version, null::varchar as lang, null::integer as srl,
from stg_terms__sources
