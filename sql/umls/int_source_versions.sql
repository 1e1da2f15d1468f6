-- materialized: view
-- The name, version, language and restriction level of each source, as sources.sql reads them from every kind of
-- input (sql/terms/ has its own file of this name): for a UMLS release, MRSAB's current versions.
select sab, name, version, lang, srl from stg_umls__mrsab
