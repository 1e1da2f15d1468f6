-- materialized: view
-- Every MRREL row in its canonical direction (int_relation_orientation), head and tail as concept_id, the relation
-- as relation_id. A RELA that MRDOC does not document (or MRDOC is absent) is oriented by its REL's standard
-- inverse and the RELA naming pattern (by_name); a REL no rule knows is kept as read. A name no rule knows stays a
-- string, unknown_relation.
-- A row "CUI1 REL CUI2 RELA" reads "CUI2 is RELA of CUI1": head = CUI2, relation = RELA or REL, tail = CUI1.
-- Rows the run drops (source and suppressibility filters, a concept without a name, self-loops) stay, with
-- is_selected false, so that the next step can count every row it read.
with rels as (
    select
        *,
        coalesce(nullif(rela, ''), rel) as unlisted,
    from stg_umls__mrrel
),

params as (
    select * from param_run
),

edges as (
    select
        h.concept_id as head_id,
        coalesce(o.relation_id, u.relation_id) as relation_id,
        case when o.rel is null and u.relation_id is null then r.unlisted end as unknown_relation,
        r.rel,
        r.rela,
        t.concept_id as tail_id,
        r.sab,
        o.inverse_rel,
        o.inverse_relation_id,
        o.rel is null and r.rela <> '' and builtin_rel_inverse(r.rel) is not null as by_name,
        case
            when by_name then orientation(r.rel, r.rela, builtin_rel_inverse(r.rel), rela_inverse_by_name(r.rela))
            else o.orientation
        end as row_orientation,
        case
            when row_orientation = 'flip' then true
            when row_orientation = 'by_cui' then h.concept_id > t.concept_id
            else false
        end as flip,
        h.concept_id is not null
        and t.concept_id is not null
        and h.concept_id <> t.concept_id
        and r.rel is not null
        and selected_by_filters(r.sab, r.suppress, p.has_sab_filter, p.keep_suppressed) as is_selected,
    from rels as r
    cross join params as p
    left join int_relation_orientation as o on o.rel = r.rel and o.rela = r.rela
    left join int_relation_names as u on u.relation = (case when o.rel is null then r.unlisted end)
    left join int_concepts_kept as h on h.cui = r.cui2
    left join int_concepts_kept as t on t.cui = r.cui1
)

select
    is_selected,
    case when flip then tail_id else head_id end as head_id,
    case when not flip then relation_id when not by_name then inverse_relation_id end as relation_id,
    case when flip and by_name then rela_inverse_by_name(rela) else unknown_relation end as unknown_relation,
    case when not flip then rel when by_name then builtin_rel_inverse(rel) else inverse_rel end as rel,
    case when flip then head_id else tail_id end as tail_id,
    sab,
from edges
