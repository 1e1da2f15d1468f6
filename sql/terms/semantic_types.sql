-- materialized: mart
-- A term's types: in a source whose terms have several namespaces (GO) the namespace; otherwise the top-level
-- categories of its is_a hierarchy it falls under: the roots, except that a generic root (a source's only root, or
-- one named like HPO's "All") gives way to its children ("Phenotypic abnormality", "Mode of inheritance", ...). A
-- category is not its own category. A dictionary's types as it gives them. On the term's concept (a merged concept
-- has the types of all its terms).
with recursive terms as (
    select * from stg_terms__terms
),

by_namespace as (
    select source
    from terms
    where namespace is not null
    group by source
    having count(distinct namespace) > 1
),

isa as (
    select distinct e.source, e.term_id as child, e.target as parent,
    from stg_terms__edges as e
    inner join terms as p on p.source = e.source and p.term_id = e.target
    where e.relation = 'is_a' and e.target <> e.term_id
),

roots as (
    select
        r.source,
        r.parent as root,
        count(*) over (partition by r.source) = 1 or lower(trim(t.name)) in ('all', 'thing', 'entity', 'root')
            as generic,
    from (select distinct source, parent from isa) as r
    inner join terms as t on t.source = r.source and t.term_id = r.parent
    where not exists (select 1 from isa as c where c.source = r.source and c.child = r.parent)
),

tops as (
    select r.source, c.child as top,
    from roots as r
    inner join isa as c on c.source = r.source and c.parent = r.root
    where r.generic
    union
    select source, root,
    from roots
    where not generic
),

below as (
    select t.source, t.top, c.child as term_id,
    from tops as t
    inner join isa as c on c.source = t.source and c.parent = t.top
    union
    select b.source, b.top, c.child,
    from below as b
    inner join isa as c on c.source = b.source and c.parent = b.term_id
),

typed as (
    select source, term_id, namespace as tui, replace(namespace, '_', ' ') as sty,
    from terms
    where namespace is not null and source in (select source from by_namespace)
    union all
    select b.source, b.term_id, b.top, t.name,
    from below as b
    inner join terms as t on t.source = b.source and t.term_id = b.top
    where b.source not in (select source from by_namespace)
    union all
    select source, term_id, tui, sty,
    from stg_terms__types
)

select distinct c.cui, y.tui, y.sty, null::varchar as stn,
from typed as y
inner join int_term_concepts as c on c.source = y.source and c.term_id = y.term_id
order by c.cui, y.tui, y.sty
