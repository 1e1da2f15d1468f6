from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sentence_transformers import SentenceTransformer

from kgbuild.core.errors import UserError
from tests.helpers.tiny_bert import build_tiny_model
from trainer.phases.multilingual import MultilingualConfig, train_multilingual

PARALLEL = [
    ("heart attack", "hartaanval"),
    ("high blood pressure", "hoge bloeddruk"),
    ("headache", "hoofdpijn"),
    ("fever", "koorts"),
    ("lung inflammation", "longontsteking"),
    ("kidney disease", "nierziekte"),
    ("common cold", "verkoudheid"),
    ("diabetes mellitus", "suikerziekte"),
    ("stroke", "beroerte"),
    ("rheumatoid arthritis", "reumatoïde artritis"),
    ("obesity", "obesitas"),
    ("anemia", "bloedarmoede"),
]


@pytest.mark.slow
def test_student_maps_both_languages_to_the_teacher(tiny_model, tmp_path):
    pq.write_table(
        pa.table({"en": [e for e, _ in PARALLEL], "xx": [x for _, x in PARALLEL]}), tmp_path / "parallel.parquet"
    )
    teacher = SentenceTransformer(str(build_tiny_model(tmp_path / "teacher", seed=9)), device="cpu")
    en = [e for e, _ in PARALLEL]
    xx = [x for _, x in PARALLEL]
    target = teacher.encode(en)
    student = SentenceTransformer(str(tiny_model), device="cpu")
    before = [float(np.mean((student.encode(t) - target) ** 2)) for t in (en, xx)]
    config = MultilingualConfig(max_steps=30, batch_size=12, learning_rate=2e-3, warmup_ratio=0.0, save_steps=1000)
    train_multilingual(
        str(tmp_path / "teacher"), str(tiny_model), tmp_path / "parallel.parquet", tmp_path / "ml", config
    )
    trained = SentenceTransformer(str(tmp_path / "ml"), device="cpu")
    after = [float(np.mean((trained.encode(t) - target) ** 2)) for t in (en, xx)]
    assert after[0] < 0.5 * before[0] and after[1] < 0.5 * before[1], (before, after)
    assert trained.max_seq_length == 64


def test_a_parallel_table_with_empty_translations_is_refused(tiny_model, tmp_path):
    pq.write_table(pa.table({"en": ["fever", "cough"], "xx": ["koorts", ""]}), tmp_path / "parallel.parquet")
    with pytest.raises(UserError, match="contract") as info:
        train_multilingual(
            str(tiny_model),
            str(tiny_model),
            tmp_path / "parallel.parquet",
            tmp_path / "ml",
            MultilingualConfig(max_steps=1),
        )
    assert info.value.path.endswith("parallel.parquet")
    pq.write_table(pa.table({"english": ["fever"], "xx": ["koorts"]}), tmp_path / "other.parquet")
    with pytest.raises(UserError, match="columns"):
        train_multilingual(
            str(tiny_model),
            str(tiny_model),
            tmp_path / "other.parquet",
            tmp_path / "ml",
            MultilingualConfig(max_steps=1),
        )
