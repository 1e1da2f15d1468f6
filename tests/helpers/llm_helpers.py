"""Helpers for the generate-definitions tests: a KG from literal rows and a fast-retry config."""

from __future__ import annotations

from pathlib import Path

import duckdb

from kgbuild.llm.config import RetryPolicy
from kgbuild.llm.generate import GenerateConfig
from tests.helpers.llm_fake_server import FakeOpenAI


def write_kg(folder: Path, n_extra: int = 0) -> Path:
    """A small KG from literal rows (appendicitis and friends), plus `n_extra` generated concepts
    ("Test disorder 0007", each a child of the first) to give fault and kill tests enough requests."""
    folder.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    con.sql("""
        create table concepts as select * from (values
            ('C0003615', 'Appendicitis', ['Disease or Syndrome'], 4::BIGINT, false),
            ('C0003617', 'Appendix', ['Body Part, Organ, or Organ Component'], 1::BIGINT, true),
            ('C0021390', 'Inflammatory disorder of digestive tract', ['Disease or Syndrome'], 1::BIGINT, false),
            ('C0085693', 'Acute appendicitis', ['Disease or Syndrome'], 2::BIGINT, false),
            ('C0000005', 'Lonely concept', []::VARCHAR[], 1::BIGINT, false)
        ) t(cui, preferred_name, semantic_types, n_names, has_definition)""")
    con.sql("""
        create table names as select * from (values
            ('C0003615', 'A1', 'Appendicitis', 'ENG', 'MSH', 'MH', true, 'N', 0),
            ('C0003615', 'A2', 'appendicitis', 'ENG', 'SNOMEDCT_US', 'SY', false, 'N', 9),
            ('C0003615', 'A3', 'Epityphlitis', 'ENG', 'MSH', 'SY', false, 'N', 0),
            ('C0003615', 'A4', 'Appendizitis', 'GER', 'MSHGER', 'SY', false, 'N', 3),
            ('C0003615', 'A5', 'Appendicitis NOS', 'ENG', 'SNOMEDCT_US', 'SY', false, 'O', 9),
            ('C0003617', 'A6', 'Appendix', 'ENG', 'MSH', 'MH', true, 'N', 0),
            ('C0021390', 'A7', 'Inflammatory disorder of digestive tract', 'ENG', 'SNOMEDCT_US', 'PT', true, 'N', 9),
            ('C0085693', 'A8', 'Acute appendicitis', 'ENG', 'SNOMEDCT_US', 'PT', true, 'N', 9),
            ('C0085693', 'A9', 'Appendicitis, acute', 'ENG', 'MSH', 'SY', false, 'N', 0),
            ('C0000005', 'A10', 'Lonely concept', 'ENG', 'MSH', 'MH', true, 'N', 0)
        ) t(cui, aui, name, lang, sab, tty, is_preferred, suppress, srl)""")
    con.sql("""
        create table relations as select * from (values
            ('C0003615', 'isa', 'CHD', 'C0021390', 'SNOMEDCT_US'),
            ('C0003615', 'has_finding_site', 'RO', 'C0003617', 'SNOMEDCT_US'),
            ('C0085693', 'isa', 'CHD', 'C0003615', 'SNOMEDCT_US'),
            ('C0085693', 'has_finding_site', 'RO', 'C0003617', 'SNOMEDCT_US'),
            ('C0003615', 'RO', 'RO', 'C0000005', 'MSH')
        ) t(head_cui, relation, rel, tail_cui, sab)""")
    con.sql("""
        create table relation_labels as select * from (values
            ('isa', 'Is a', 'inverse_isa', 2::BIGINT),
            ('has_finding_site', 'Has finding site', 'finding_site_of', 2::BIGINT),
            ('RO', 'has relationship other than synonymous, narrower, or broader', 'RO', 1::BIGINT)
        ) t(relation, label, inverse, n_edges)""")
    if n_extra:
        con.sql(f"""insert into concepts select 'CX' || lpad(i::VARCHAR, 6, '0'),
                    'Test disorder ' || lpad(i::VARCHAR, 4, '0'), ['Disease or Syndrome'], 1, false
                    from range({n_extra}) r(i)""")
        con.sql(f"""insert into names select 'CX' || lpad(i::VARCHAR, 6, '0'), 'AX' || i::VARCHAR,
                    'Test disorder ' || lpad(i::VARCHAR, 4, '0'), 'ENG', 'MSH', 'MH', true, 'N', 0
                    from range({n_extra}) r(i)""")
        con.sql(f"""insert into relations select 'CX' || lpad(i::VARCHAR, 6, '0'), 'isa', 'CHD', 'C0003615', 'MSH'
                    from range({n_extra}) r(i)""")
    for table in ("concepts", "names", "relations", "relation_labels"):
        con.sql(f"copy (select * from {table}) to '{folder / (table + '.parquet')}' (format parquet)")
    return folder


def fast_config(server: FakeOpenAI, **overrides) -> GenerateConfig:
    """Small backoffs so fault tests take fractions of a second; everything else as in production."""
    defaults = dict(
        model="gpt-4o-mini",
        base_url=server.base_url,
        concurrency=8,
        timeout_s=5.0,
        retry=RetryPolicy(max_attempts=4, backoff_base_s=0.01, backoff_max_s=0.05),
    )
    defaults.update(overrides)
    return GenerateConfig(**defaults)
