"""A batch sampler that never puts two pairs of the same concept (cui) in one batch.

With in-batch negatives (MultipleNegativesRankingLoss) every other positive in the batch is a negative; two pairs of
one cui would teach the model to push synonyms apart. The stock NO_DUPLICATES sampler compares texts only, so it
cannot see that "heart attack" and "myocardial infarction" are one concept. Identical texts are kept apart too
(an ambiguous name shared by two cuis would otherwise be its own false negative).

SentenceTransformerTrainingArguments(batch_sampler=...) accepts a callable taking (dataset, batch_size, drop_last,
valid_label_columns, generator, seed); `cui_batch_sampler(cuis)` returns one bound to the cui of each row.

Padding: short names sit beside long definitions, so a batch padded to its longest text is mostly padding. The
cached loss (GradCache) embeds a batch in mini-batches and trims each one to its own longest text; with
`cui_batch_sampler(cuis, lengths=...)` each batch lists its rows longest first, so every mini-batch holds texts of
similar length. The batches are the same sets of rows, so the loss is unchanged. `length_grouped_batch_sampler`
does the same for a loss without mini-batches (self-distillation): batches of similar lengths, which changes
which texts share a batch.

Several processes (torchrun): the loss gathers every process's embeddings, so the negatives of one step are the
rows of all processes together. The plan is then made of global batches (batch_size x world_size rows, each cui
once) and each is emitted as world_size consecutive parts, one per process (accelerate hands batch i to process
i mod world_size): no two processes hold the same concept in one step.
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
    process (same seed) sees the same plan. With `world_size` > 1 the plan is of global batches, each emitted as
    `world_size` parts of `batch_size` rows (see the module's docstring).
    """

    def __init__(
        self,
        dataset,
        batch_size: int,
        drop_last: bool,
        valid_label_columns=None,
        generator: torch.Generator | None = None,
        seed: int = 0,
        *,
        cuis: Sequence[str],
        text_columns: Sequence[str] | None = None,
        lengths: Sequence[int] | None = None,
        world_size: int = 1,
    ) -> None:
        super().__init__(
            dataset,
            batch_size=batch_size,
            drop_last=drop_last,
            valid_label_columns=valid_label_columns,
            generator=generator,
            seed=seed,
        )
        self.world_size = max(1, world_size)
        if len(cuis) != len(dataset):
            raise ValueError(f"{len(cuis)} cuis for a dataset of {len(dataset)} rows")
        if lengths is not None and len(lengths) != len(dataset):
            raise ValueError(f"{len(lengths)} lengths for a dataset of {len(dataset)} rows")
        self.cuis = list(cuis)
        self.lengths = list(lengths) if lengths is not None else None
        columns = [
            c
            for c in (text_columns if text_columns is not None else dataset.column_names)
            if c not in (valid_label_columns or [])
        ]
        self.texts = [dataset[c][:] for c in columns]  # whole columns as lists: per-row Column access is slow
        self._plans: dict[int, list[list[int]]] = {}

    def _keys(self, index: int) -> list[object]:
        return [("cui", self.cuis[index]), *(column[index] for column in self.texts)]

    def plan(self, epoch: int) -> list[list[int]]:
        if epoch in self._plans:
            return self._plans[epoch]
        generator = torch.Generator().manual_seed(self.seed + epoch)
        order = torch.randperm(len(self.cuis), generator=generator).tolist()
        size = self.batch_size * self.world_size  # one step of all processes together
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
            if len(members) == size:
                batches.append(members)
                open_batches = [b for b in open_batches if b[1] is not members]
        # Leftovers: batches that could not be filled without repeating a cui. A batch of one pair has no
        # negative (its loss is 0), so it is dropped even without drop_last. Under several processes they are dropped
        # too: the gathering loss needs parts of one size on every process.
        if not self.drop_last and self.world_size == 1:
            batches.extend(members for _, members in open_batches if len(members) > 1)
        if self.world_size > 1:
            batches = [b[i : i + self.batch_size] for b in batches for i in range(0, size, self.batch_size)]
        if self.lengths is not None:  # longest first: the mini-batches of a cached loss are cut from similar lengths
            batches = [sorted(batch, key=lambda i: -self.lengths[i]) for batch in batches]
        self._plans = {epoch: batches}  # keep one epoch: memory stays O(rows)
        return batches

    def __iter__(self) -> Iterator[list[int]]:
        yield from self.plan(self.epoch)

    def __len__(self) -> int:
        return len(self.plan(self.epoch))


def cui_batch_sampler(
    cuis: Sequence[str],
    text_columns: Sequence[str] | None = None,
    lengths: Sequence[int] | None = None,
    world_size: int = 1,
) -> Callable[..., CuiBatchSampler]:
    """The `batch_sampler` argument for SentenceTransformerTrainingArguments, bound to the rows' cuis (and, to order
    each batch longest first, their lengths; to plan global batches, the number of processes)."""
    return functools.partial(
        CuiBatchSampler,
        cuis=list(cuis),
        text_columns=text_columns,
        lengths=list(lengths) if lengths is not None else None,
        world_size=world_size,
    )


class LengthGroupedBatchSampler(DefaultBatchSampler):
    """Shuffled batches of rows of similar length, for a loss that pads each batch to its longest row.

    As in transformers' group_by_length: rows in a seeded random order are cut into windows of `group` batches;
    each window is sorted by length and cut into batches; then the order of all batches is shuffled. Every row is
    used once per epoch (the last, short batch is kept unless drop_last).
    """

    def __init__(
        self,
        dataset,
        batch_size: int,
        drop_last: bool,
        valid_label_columns=None,
        generator: torch.Generator | None = None,
        seed: int = 0,
        *,
        lengths: Sequence[int],
        group: int = 50,
    ) -> None:
        super().__init__(
            dataset,
            batch_size=batch_size,
            drop_last=drop_last,
            valid_label_columns=valid_label_columns,
            generator=generator,
            seed=seed,
        )
        if len(lengths) != len(dataset):
            raise ValueError(f"{len(lengths)} lengths for a dataset of {len(dataset)} rows")
        self.lengths = list(lengths)
        self.group = group

    def plan(self, epoch: int) -> list[list[int]]:
        generator = torch.Generator().manual_seed(self.seed + epoch)
        order = torch.randperm(len(self.lengths), generator=generator).tolist()
        window = self.batch_size * self.group
        batches: list[list[int]] = []
        for start in range(0, len(order), window):
            rows = sorted(order[start : start + window], key=lambda i: -self.lengths[i])
            batches.extend(rows[i : i + self.batch_size] for i in range(0, len(rows), self.batch_size))
        if self.drop_last:
            batches = [b for b in batches if len(b) == self.batch_size]
        shuffled = torch.randperm(len(batches), generator=generator).tolist()
        return [batches[i] for i in shuffled]

    def __iter__(self) -> Iterator[list[int]]:
        yield from self.plan(self.epoch)

    def __len__(self) -> int:
        full, rest = divmod(len(self.lengths), self.batch_size)
        return full + (1 if rest and not self.drop_last else 0)


def length_grouped_batch_sampler(lengths: Sequence[int], group: int = 50) -> Callable[..., LengthGroupedBatchSampler]:
    """The `batch_sampler` argument for SentenceTransformerTrainingArguments, bound to the rows' lengths."""
    return functools.partial(LengthGroupedBatchSampler, lengths=list(lengths), group=group)
