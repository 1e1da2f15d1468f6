from __future__ import annotations

from collections import Counter

import datasets
import pytest
import torch

from trainer.sampler import CuiBatchSampler, LengthGroupedBatchSampler, cui_batch_sampler


def make(n_concepts: int = 30, per_concept: tuple[int, ...] = (1, 2, 3, 5)) -> tuple[datasets.Dataset, list[str]]:
    anchors, positives, cuis = [], [], []
    for c in range(n_concepts):
        for k in range(per_concept[c % len(per_concept)]):
            anchors.append(f"name {c}-{k}")
            positives.append(f"definition of concept {c} variant {k}")
            cuis.append(f"C{c:07d}")
    return datasets.Dataset.from_dict({"anchor": anchors, "positive": positives}), cuis


@pytest.mark.parametrize("batch_size", [2, 4, 8, 16])
def test_no_batch_holds_a_cui_twice_and_every_row_is_used_once(batch_size):
    ds, cuis = make()
    sampler = CuiBatchSampler(ds, batch_size=batch_size, drop_last=False, cuis=cuis, seed=3)
    for epoch in range(3):
        sampler.set_epoch(epoch)
        batches = list(sampler)
        assert len(batches) == len(sampler)
        for batch in batches:
            assert 1 < len(batch) <= batch_size
            assert len({cuis[i] for i in batch}) == len(batch), "a cui occurs twice in one batch"
        used = Counter(i for b in batches for i in b)
        assert max(used.values()) == 1
        # only leftover single-pair batches (no negatives, loss 0) may be dropped
        assert len(used) >= len(cuis) - batch_size


def test_identical_texts_of_different_cuis_are_kept_apart():
    ds = datasets.Dataset.from_dict(
        {"anchor": ["cold"] * 4 + [f"x{i}" for i in range(12)], "positive": [f"p{i}" for i in range(16)]}
    )
    cuis = ["C1", "C2", "C3", "C4"] + [f"D{i}" for i in range(12)]
    for batch in CuiBatchSampler(ds, batch_size=8, drop_last=False, cuis=cuis, seed=0):
        assert sum(ds[i]["anchor"] == "cold" for i in batch) <= 1


def test_seeded_shuffle_is_reproducible_and_changes_per_epoch():
    ds, cuis = make()
    a = CuiBatchSampler(ds, batch_size=8, drop_last=True, cuis=cuis, seed=7)
    b = CuiBatchSampler(ds, batch_size=8, drop_last=True, cuis=cuis, seed=7)
    assert list(a) == list(b)
    assert all(len(batch) == 8 for batch in a)
    first = list(a)
    a.set_epoch(1)
    assert list(a) != first


def test_a_dominant_concept_spreads_over_batches():
    ds = datasets.Dataset.from_dict({"anchor": [f"a{i}" for i in range(40)], "positive": [f"p{i}" for i in range(40)]})
    cuis = ["BIG"] * 20 + [f"C{i}" for i in range(20)]
    batches = list(CuiBatchSampler(ds, batch_size=8, drop_last=False, cuis=cuis, seed=1))
    for batch in batches:
        assert sum(cuis[i] == "BIG" for i in batch) <= 1


@pytest.mark.parametrize("drop_last", [False, True])
def test_under_two_processes_the_plan_is_global_and_no_step_holds_a_cui_twice(drop_last):
    ds, cuis = make()
    sampler = CuiBatchSampler(ds, batch_size=4, drop_last=drop_last, cuis=cuis, seed=3, world_size=2)
    single = CuiBatchSampler(ds, batch_size=8, drop_last=True, cuis=cuis, seed=3)
    parts = list(sampler)
    assert len(parts) == len(sampler) and len(parts) % 2 == 0 and all(len(p) == 4 for p in parts)
    # accelerate hands part i to process i mod 2: one step = two consecutive parts = one global batch
    steps = [parts[i] + parts[i + 1] for i in range(0, len(parts), 2)]
    for step in steps:
        assert len({cuis[i] for i in step}) == len(step), "two processes hold one cui in the same step"
    assert steps == list(single)  # the same global batches as one process with the total batch


def test_sorted_by_length_gives_the_same_batches_longest_first():
    ds, cuis = make()
    lengths = [len(p) + 7 * (i % 5) for i, p in enumerate(ds["positive"][:])]
    plain = list(CuiBatchSampler(ds, batch_size=8, drop_last=False, cuis=cuis, seed=4))
    ordered = list(CuiBatchSampler(ds, batch_size=8, drop_last=False, cuis=cuis, seed=4, lengths=lengths))
    assert [sorted(b) for b in plain] == [sorted(b) for b in ordered]  # same sets: the in-batch loss is unchanged
    for batch in ordered:
        assert [lengths[i] for i in batch] == sorted((lengths[i] for i in batch), reverse=True)
    assert any(a != b for a, b in zip(plain, ordered, strict=True))
    with pytest.raises(ValueError, match="lengths"):
        CuiBatchSampler(ds, batch_size=8, drop_last=False, cuis=cuis, lengths=lengths[1:])


@pytest.mark.parametrize("drop_last", [False, True])
def test_length_grouped_batches_use_every_row_once_and_pad_less(drop_last):
    lengths = [(i * 37) % 101 + 1 for i in range(1000)]
    ds = datasets.Dataset.from_dict({"text": [str(i) for i in range(1000)]})
    sampler = LengthGroupedBatchSampler(ds, batch_size=32, drop_last=drop_last, lengths=lengths, seed=2, group=8)
    batches = list(sampler)
    assert len(batches) == len(sampler) == (31 if drop_last else 32)
    used = Counter(i for b in batches for i in b)
    assert max(used.values()) == 1 and len(used) == (992 if drop_last else 1000)

    def padded(plan: list[list[int]]) -> int:
        return sum(len(b) * max(lengths[i] for i in b) for b in plan)

    random_plan = [list(range(1000))[i : i + 32] for i in range(0, 1000, 32)]
    assert padded(batches) < 0.7 * padded(random_plan)
    assert batches == list(
        LengthGroupedBatchSampler(ds, batch_size=32, drop_last=drop_last, lengths=lengths, seed=2, group=8)
    )
    sampler.set_epoch(1)
    assert list(sampler) != batches


def test_the_trainer_builds_our_sampler_from_the_training_arguments(tiny_model, tmp_path):
    from sentence_transformers import (
        SentenceTransformer,
        SentenceTransformerTrainer,
        SentenceTransformerTrainingArguments,
    )
    from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss

    ds, cuis = make(n_concepts=8)
    model = SentenceTransformer(str(tiny_model), device="cpu")
    args = SentenceTransformerTrainingArguments(
        output_dir=str(tmp_path),
        per_device_train_batch_size=4,
        batch_sampler=cui_batch_sampler(cuis),
        report_to="none",
        use_cpu=True,
        dataloader_pin_memory=False,
    )
    trainer = SentenceTransformerTrainer(
        model=model, args=args, train_dataset=ds, loss=MultipleNegativesRankingLoss(model)
    )
    sampler = trainer.get_batch_sampler(ds, batch_size=4, drop_last=False, generator=torch.Generator(), seed=0)
    assert isinstance(sampler, CuiBatchSampler)
    loader = trainer.get_train_dataloader()
    n_rows = sum(batch["anchor_input_ids"].shape[0] for batch in loader)
    assert n_rows == sum(len(b) for b in sampler)
