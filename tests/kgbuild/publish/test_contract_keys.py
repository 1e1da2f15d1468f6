"""Key checks take a hashed first pass; a repeated key must still be caught and counted exactly."""

from __future__ import annotations

import pytest

from kgbuild.core.contracts import ContractError, check_or_raise
from tests.helpers.publish_kg import ROWS, make_kg, write_table


def test_repeated_four_column_key_is_counted(tmp_path):
    kg = make_kg(tmp_path / "kg")
    edge = ROWS["relations"][0]
    write_table(kg, "relations", ROWS["relations"] + [edge, edge, (*edge[:4], "SNOMEDCT_US")])
    with pytest.raises(ContractError) as err:
        check_or_raise("relations", kg)
    assert [(c.name, c.detail) for c in err.value.failures] == [
        ("primaryKey(head_cui, relation, tail_cui, sab)", "1 duplicated keys")
    ]


def test_distinct_keys_pass(tmp_path):
    kg = make_kg(tmp_path / "kg")
    edge = ROWS["relations"][0]
    # The same pair under another relation and another source: every key differs in one column only.
    write_table(kg, "relations", ROWS["relations"] + [(edge[0], "part_of", *edge[2:]), (*edge[:4], "SNOMEDCT_US")])
    assert all(c.passed for c in check_or_raise("relations", kg))


def test_unique_column_counts_extra_rows(tmp_path):
    kg = make_kg(tmp_path / "kg")
    write_table(kg, "concepts", ROWS["concepts"] + [ROWS["concepts"][0]] * 2)
    with pytest.raises(ContractError) as err:
        check_or_raise("concepts", kg)
    assert ("cui.unique", "2 duplicate values") in [(c.name, c.detail) for c in err.value.failures]
