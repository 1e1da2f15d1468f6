-- The KG facts of the targets (all_targets, from targets.sql) with $lo <= ord < $hi, in send order: a chunk at a
-- time keeps memory flat however many concepts the job has. Facts: up to $n_synonyms English synonyms, the semantic
-- types, up to $n_parents parents (is_a_edge where the concept is the head: "head is a kind of tail") and up to
-- $n_relations relations said as facts, in either direction, rarest relation first (a rare relation such as
-- has_finding_site says more than a common one). What is a parent, what is said and how: sql/_kg.sql, the same
-- reading as the descriptions of build-pairs.
-- Parameters: $lo, $hi, $n_synonyms, $n_parents, $n_relations.
with targets as (
    select * from all_targets where ord >= $lo and ord < $hi
),

synonym_forms as (
    select
        n.cui,
        arg_min(n.name, n.srl) as name,
        max(n.is_preferred::int) as preferred,
        min(n.srl) as srl,
    from names as n
    join targets as t on t.cui = n.cui
    where
        upper(n.lang) in ('ENG', 'EN')
        and not_suppressed(n.suppress)
        and lower(n.name) <> lower(t.preferred_name)
    group by n.cui, lower(n.name)
),

synonyms as (
    select cui, list(name order by preferred desc, srl, length(name), name)[1:$n_synonyms] as synonyms,
    from synonym_forms
    group by cui
),

parent_names as (
    select distinct r.head_cui as cui, p.preferred_name as name,
    from relations as r
    join targets as t on t.cui = r.head_cui
    join concepts as p on p.cui = r.tail_cui
    where is_a_edge(r.rel, r.relation)
),

parents as (
    select cui, list(name order by name)[1:$n_parents] as parents,
    from parent_names
    group by cui
),

edges as (
    select r.head_cui, r.relation, r.tail_cui, r.head_cui as cui from relations as r
    where r.head_cui in (select cui from targets)
    union
    select r.head_cui, r.relation, r.tail_cui, r.tail_cui as cui from relations as r
    where r.tail_cui in (select cui from targets)
),

relation_facts as (
    select
        e.cui,
        h.preferred_name || ' ' || relation_phrase(c.phrase, l.label, e.relation) || ' ' || tl.preferred_name as fact,
        min(coalesce(l.n_edges, 0)) as n_edges,
    from edges as e
    join concepts as h on h.cui = e.head_cui
    join concepts as tl on tl.cui = e.tail_cui
    left join relation_labels as l on l.relation = e.relation
    left join relation_phrases as c on c.relation = e.relation
    where coalesce(c.role, 'fact') = 'fact'
    group by all
),

relations_listed as (
    select cui, list(fact order by n_edges, fact)[1:$n_relations] as relations,
    from relation_facts
    group by cui
)

select
    t.ord,
    t.cui,
    t.preferred_name,
    coalesce(s.synonyms, []) as synonyms,
    t.semantic_types,
    t.shared_name,
    coalesce(p.parents, []) as parents,
    coalesce(r.relations, []) as relations,
from targets as t
left join synonyms as s on s.cui = t.cui
left join parents as p on p.cui = t.cui
left join relations_listed as r on r.cui = t.cui
order by t.ord
