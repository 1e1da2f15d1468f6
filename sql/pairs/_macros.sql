-- Text helpers shared by the pairs SQL (run once per connection before the table files).
create or replace macro lower_first(x) as
    -- "Leg fracture" reads as "leg fracture" inside a sentence; acronyms ("HIV infection") stay as they are.
    case when regexp_matches(x, '^\p{Lu}\p{Ll}') then lower(x[1]) || x[2:] else x end;

create or replace macro with_article(x) as
    case when regexp_matches(lower(x), '^[aeiou]') then 'an ' else 'a ' end || x;

create or replace macro said(subject, predicate) as
    -- "Varicella is a disease." or, without a subject, "A disease." (the predicate then opens the sentence)
    case
        when subject is null then upper(predicate[1]) || predicate[2:] || '.'
        else subject || ' is ' || predicate || '.'
    end;

create or replace macro join_and(l) as
    -- ['a'] -> 'a'; ['a', 'b', 'c'] -> 'a, b and c'
    case
        when len(l) = 0 then null
        when len(l) = 1 then l[1]
        else array_to_string(l[1:len(l) - 1], ', ') || ' and ' || l[len(l)]
    end;

create or replace macro norm_text(x) as
    -- Two texts that differ only in case, spaces, punctuation or symbols make a trivial pair.
    regexp_replace(lower(x), '[\s\p{P}\p{S}]+', '', 'g');

create or replace macro humanize_relation(x) as
    -- "has_finding_site" -> "has finding site"; "part_of" -> "is part of" (a bare "... of/by" needs a verb).
    case
        when regexp_matches(lower(replace(trim(x), '_', ' ')), '^(is|has|have|was|are|may|can|does|do) ')
            then lower(replace(trim(x), '_', ' '))
        when regexp_matches(lower(replace(trim(x), '_', ' ')), ' (of|by)$')
            then 'is ' || lower(replace(trim(x), '_', ' '))
        else lower(replace(trim(x), '_', ' '))
    end;

create or replace macro is_pair_name(suppress, tty, name) as
    -- A name worth pairing: not suppressed, not a broader/narrower or obsolete term type, not empty.
    coalesce(suppress, 'N') not in ('O', 'E', 'Y')
    and tty not in ('BROAD', 'NARROW', 'OP', 'IS', 'OAP', 'OAS', 'OAF', 'OAM', 'OM', 'OPN', 'OSN', 'OF', 'OL', 'LO')
    and trim(name) <> '';
