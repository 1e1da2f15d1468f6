-- The concepts that kept at least one name: every other table is restricted to them.
select distinct cui from int_names_ranked
