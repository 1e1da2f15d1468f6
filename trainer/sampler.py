"""A batch sampler that never puts two pairs of the same concept (cui) in one batch.

With in-batch negatives (MultipleNegativesRankingLoss) every other positive in the batch is a negative; two pairs of
one cui would teach the model to push synonyms apart. The stock NO_DUPLICATES sampler compares texts only, so it
cannot see that "heart attack" and "myocardial infarction" are one concept. Identical texts are kept apart too
(an ambiguous name shared by two cuis would otherwise be its own false negative).

SentenceTransformerTrainingArguments(batch_sampler=...) accepts a callable taking (dataset, batch_size, drop_last,
valid_label_columns, generator, seed); `cui_batch_sampler(cuis)` returns one bound to the cui of each row.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Sequence

import torch
from sentence_transformers.base.sampler import DefaultBatchSampler


class CuiBatchSampler(DefaultBatchSampler):
    """Shuffled batches in which every cui (and every text) occurs at most once.

    Rows are visited in a seeded random order and each goes to the oldest open batch that has none of its keys yet;
    a batch is emitted when full. The batches of an epoch are planned once, so `__len__` is exact and every DDP
    process (same seed) sees the same plan.
    """

    def __init__(self, dataset, batch_size: int, drop_last: bool, valid_label_columns=None,
                 generator: torch.Generator | None = None, seed: int = 0, *, cuis: Sequence[str],
                 text_columns: Sequence[str] | None = None) -> None:
        super().__init__(dataset, batch_size=batch_size, drop_last=drop_last, valid_label_columns=valid_label_columns,
                         generator=generator, seed=seed)
        if len(cuis) != len(dataset):
            raise ValueError(f"{len(cuis)} cuis for a dataset of {len(dataset)} rows")
        self.cuis = list(cuis)
        columns = [c for c in (text_columns if text_columns is not None else dataset.column_names)
                   if c not in (valid_label_columns or [])]
        self.texts = [dataset[c][:] for c in columns]   # whole columns as lists: per-row Column access is slow
        self._plans: dict[int, list[list[int]]] = {}

    def _keys(self, index: int) -> list[object]:
        return [("cui", self.cuis[index]), *(column[index] for column in self.texts)]

    def plan(self, epoch: int) -> list[list[int]]:
        if epoch in self._plans:
            return self._plans[epoch]
        generator = torch.Generator().manual_seed(self.seed + epoch)
        order = torch.randperm(len(self.cuis), generator=generator).tolist()
        batches: list[list[int]] = []
        open_batches: list[tuple[set[object], list[int]]] = []
        for index in order:
            keys = self._keys(index)
            for seen, members in open_batches:  # noqa: B007 - the loop variables are used after the break
                if not any(k in seen for k in keys):
                    break
            else:
                seen, members = set(), []
                open_batches.append((seen, members))
            seen.update(keys)
            members.append(index)
            if len(members) == self.batch_size:
                batches.append(members)
                open_batches = [b for b in open_batches if b[1] is not members]
        # Leftovers: batches that could not be filled without repeating a cui. A batch of one pair has no
        # negative (its loss is 0), so it is dropped even without drop_last.
        if not self.drop_last:
            batches.extend(members for _, members in open_batches if len(members) > 1)
        self._plans = {epoch: batches}   # keep one epoch: memory stays O(rows)
        return batches

    def __iter__(self) -> Iterator[list[int]]:
        yield from self.plan(self.epoch)

    def __len__(self) -> int:
        return len(self.plan(self.epoch))


def cui_batch_sampler(cuis: Sequence[str],
                      text_columns: Sequence[str] | None = None) -> Callable[..., CuiBatchSampler]:
    """The `batch_sampler` argument for SentenceTransformerTrainingArguments, bound to the rows' cuis."""
    return functools.partial(CuiBatchSampler, cuis=list(cuis), text_columns=text_columns)
