-- materialized: table
-- The concept of each term. Terms of different sources are one concept only where the sources say so: they share a
-- code in a namespace named by --merge-on (param_merge_on: UMLS for a shared CUI, MSH, OMIM, ...). Terms linked so,
-- directly or through others, form a group; the group is one concept, named by its member of the earliest source
-- (then the earliest in that source), so ids are stable across runs. A group that holds two terms of one source is a
-- conflict (a term would map to two concepts of that source): its terms stay apart, and merge_conflicts lists them.
with recursive keys as (
    select distinct source, term_id, sab, code
    from stg_terms__codes
    where sab in (select sab from param_merge_on)
),

links as (
    select distinct
        a.source,
        a.term_id,
        b.source as to_source,
        b.term_id as to_term,
    from keys as a
    inner join keys as b on b.sab = a.sab and b.code = a.code and b.source <> a.source
),

reach as (
    select source, term_id, to_source, to_term from links
    union
    select r.source, r.term_id, l.to_source, l.to_term
    from reach as r
    inner join links as l on l.source = r.to_source and l.term_id = r.to_term
),

groups as (
    -- each linked term with its whole group, itself included
    select
        r.source,
        r.term_id,
        arg_min(r.to_term, (r.to_source, t.position)) as anchor,
        count(*) as n_terms,
        count(distinct r.to_source) as n_sources,
    from (select source, term_id, to_source, to_term from reach union select source, term_id, source, term_id from links) as r
    inner join stg_terms__terms as t on t.source = r.to_source and t.term_id = r.to_term
    group by r.source, r.term_id
)

select
    t.source,
    t.term_id,
    case when g.n_terms = g.n_sources then g.anchor else t.term_id end as cui,
    g.n_terms > g.n_sources as conflict,
    g.anchor as linked_to,  -- the group's first term, whether merged or in conflict (for the manifest)
from stg_terms__terms as t
left join groups as g on g.source = t.source and g.term_id = t.term_id
