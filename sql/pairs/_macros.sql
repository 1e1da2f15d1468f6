-- Helpers of the pairs SQL only (run once per connection before the table files; sql/_kg.sql has the shared ones).
create or replace macro norm_text(x) as
    -- Two texts that differ only in case, spaces, punctuation or symbols make a trivial pair.
    regexp_replace(lower(x), '[\s\p{P}\p{S}]+', '', 'g');

create or replace macro is_pair_name(suppress, tty, name) as
    -- A name worth pairing: not suppressed, not a broader/narrower or obsolete term type, not empty.
    not_suppressed(suppress)
    and tty not in ('BROAD', 'NARROW', 'OP', 'IS', 'OAP', 'OAS', 'OAF', 'OAM', 'OM', 'OPN', 'OSN', 'OF', 'OL', 'LO')
    and trim(name) <> '';
