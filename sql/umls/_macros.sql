-- Relation helpers shared by the umls SQL (run once per connection before the table files).
create or replace macro builtin_rel_inverses() as
    -- The standard REL inverses (UMLS Reference Manual, "Relationship" abbreviations): what MRDOC rel_inverse says
    -- in every release, so that both directions of an edge collapse without MRDOC too.
    map {
        'CHD': 'PAR', 'PAR': 'CHD', 'RB': 'RN', 'RN': 'RB', 'AQ': 'QB', 'QB': 'AQ', 'RO': 'RO', 'RQ': 'RQ',
        'RL': 'RL', 'RU': 'RU', 'SY': 'SY', 'SIB': 'SIB', 'XR': 'XR'
    };

create or replace macro builtin_rel_inverse(rel) as builtin_rel_inverses()[rel];

create or replace macro rela_inverse_by_name(rela) as
    -- A RELA that MRDOC does not document: its inverse by the UMLS naming pattern (isa / inverse_isa,
    -- has_finding_site / finding_site_of), so the two rows of an edge still meet.
    case
        when starts_with(rela, 'inverse_') then rela[9:]
        when starts_with(rela, 'has_') then rela[5:] || '_of'
        when ends_with(rela, '_of') then 'has_' || rela[:-4]
        else 'inverse_' || rela
    end;

create or replace macro orientation(rel, relation, inverse_rel, inverse_relation) as
    -- Which of the two rows of an edge is kept as read ('keep'), turned round ('flip'), or ordered by cui
    -- ('by_cui', symmetric relations). Child/narrower as head (CHD, RN); otherwise the non-"inverse_" name, then the
    -- "has_" name (has_finding_site, has_ingredient: the disease or drug as head), else the smaller name.
    case
        when inverse_rel is null or inverse_relation is null then 'keep'
        when rel in ('CHD', 'RN') then 'keep'
        when rel in ('PAR', 'RB') then 'flip'
        when relation = inverse_relation then 'by_cui'
        when starts_with(relation, 'inverse_') then 'flip'
        when starts_with(inverse_relation, 'inverse_') then 'keep'
        when starts_with(relation, 'has_') <> starts_with(inverse_relation, 'has_')
            then (case when starts_with(inverse_relation, 'has_') then 'flip' else 'keep' end)
        when relation > inverse_relation then 'flip'
        else 'keep'
    end;

create or replace macro selected_by_filters(s, supp, has_sab_filter, keep_suppressed) as
    -- The run's source filters (--sab, --exclude-sab) and suppressibility (--keep-suppressed; not_suppressed in
    -- sql/_kg.sql): one rule for atoms, relations and definitions.
    (not has_sab_filter or s in (select sab from param_sabs))
    and s not in (select sab from param_exclude_sabs)
    and (keep_suppressed or not_suppressed(supp));
