from __future__ import annotations

import numpy as np
import pytest
from sentence_transformers import SentenceTransformer

from kgbuild.core.errors import UserError
from tests.helpers.tiny_bert import build_tiny_model
from trainer.data import distillation_texts
from trainer.phases.self_distillation import SelfDistillationConfig, train_self_distillation


def mse(a: SentenceTransformer, b: SentenceTransformer, texts: list[str]) -> float:
    return float(np.mean((a.encode(texts) - b.encode(texts)) ** 2))


@pytest.mark.slow
def test_student_learns_the_teacher_embeddings_from_a_cache(tiny_model, pairs_dir, tmp_path):
    teacher = build_tiny_model(tmp_path / "teacher", seed=5)  # stands in for the phase-1 model
    texts = distillation_texts(pairs_dir, columns=["anchor", "positive"])
    assert len(texts) == len(set(texts)) and "Heart attack" in texts and "Kidney disease" not in texts  # train only
    config = SelfDistillationConfig(
        max_steps=30, batch_size=16, learning_rate=2e-3, warmup_ratio=0.0, logging_steps=1, save_steps=1000
    )
    teacher_model = SentenceTransformer(str(teacher), device="cpu")
    before = mse(SentenceTransformer(str(tiny_model), device="cpu"), teacher_model, texts)
    summary = train_self_distillation(
        str(teacher), str(tiny_model), pairs_dir, tmp_path / "run" / "sd", config, max_seq_length=32
    )
    after = mse(SentenceTransformer(str(tmp_path / "run" / "sd"), device="cpu"), teacher_model, texts)
    assert after < 0.5 * before, (before, after)
    assert summary["rows"] == len(texts)

    caches = list((tmp_path / "run" / "cache").iterdir())
    assert len(caches) == 1
    stamp = caches[0].stat().st_mtime_ns
    train_self_distillation(
        str(teacher), str(tiny_model), pairs_dir, tmp_path / "run" / "sd", config, max_seq_length=32, force=True
    )
    assert [c.stat().st_mtime_ns for c in (tmp_path / "run" / "cache").iterdir()] == [stamp]  # reused


def test_teacher_and_student_dimensions_must_agree(tiny_model, pairs_dir, tmp_path):
    wide = build_tiny_model(tmp_path / "wide", hidden=48)
    with pytest.raises(UserError, match="dimensions"):
        train_self_distillation(
            str(wide), str(tiny_model), pairs_dir, tmp_path / "sd", SelfDistillationConfig(max_steps=1)
        )


def test_a_step_budget_below_an_epoch_embeds_only_the_texts_it_learns(tiny_model, pairs_dir, tmp_path):
    teacher = build_tiny_model(tmp_path / "teacher", seed=5)
    texts = distillation_texts(pairs_dir, columns=["anchor", "positive"])
    config = SelfDistillationConfig(max_steps=2, batch_size=4, save_steps=1000)
    assert len(texts) > 8
    summary = train_self_distillation(
        str(teacher), str(tiny_model), pairs_dir, tmp_path / "run" / "sd", config, max_seq_length=32
    )
    assert summary["rows"] == 8  # 2 steps of 4: the teacher embedded 8 texts, not the whole corpus
    import datasets

    (cache,) = (tmp_path / "run" / "cache").iterdir()
    embedded = datasets.load_from_disk(str(cache))["text"]
    assert len(set(embedded)) == 8 and set(embedded) <= set(texts)
