"""Phase 1 (BioLORD-2023-C): contrastive training on (name, description/synonym) pairs with in-batch negatives.

MultipleNegativesRankingLoss (or its cached/GradCache variant for large batches on small memory) over the train
split of a build-pairs folder; a cui-aware batch sampler keeps every concept at most once per batch, so synonyms
are never used as negatives. Under torchrun the loss gathers the embeddings of every process (sentence-transformers'
`gather_across_devices`), so each anchor has the whole global batch as negatives, and the batch plan is global
(trainer/sampler.py): the same loss as one process with the total batch.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field

from kgbuild.core.errors import UserError
from kgbuild.core.events import Reporter, silent
from trainer.config import TrainingConfig
from trainer.phases.base import Option, Phase, Required, register, training_evaluator

if TYPE_CHECKING:
    from trainer.config import RunConfig
    from trainer.phase_folder import PhaseRun

logger = logging.getLogger(__name__)


class ContrastiveConfig(TrainingConfig):
    learning_rate: float = Field(1e-4, gt=0)  # +3.7 points of linking over 3e-5 (BENCHMARKS.md, issue 14)
    loss: Literal["mnrl", "cached_mnrl"] = "mnrl"  # cached_mnrl: GradCache, big batches on small memory
    mini_batch_size: int = Field(32, ge=1)  # cached_mnrl only
    scale: float = Field(20.0, gt=0)
    kinds: list[str] = Field(default_factory=list)  # pair kinds to train on; empty = all
    sort_by_length: bool = False  # cached_mnrl: each batch longest first, so mini-batches pad less (same loss)


def train_contrastive(
    base: str,
    pairs_dir: Path,
    out: Path,
    config: ContrastiveConfig,
    *,
    max_seq_length: int = 128,
    seed: int = 42,
    checkpoints: Path | None = None,
    force: bool = False,
    marker: dict[str, Any] | None = None,
    callbacks: list | None = None,
    report: Reporter = silent,
    evaluator: Any = None,
) -> dict[str, Any]:
    """Train `base` contrastively on the pairs in `pairs_dir`; save a sentence-transformers model to `out`.

    `report`: where the training progress goes (kgbuild.core.events); `callbacks`: transformers TrainerCallbacks for
    the trainer (e.g. benchmarks/gpu_check.py's meter); `evaluator`: a sentence-transformers evaluator the trainer
    scores at every save_steps (step 4; its figures in the summary's "evaluations").
    """
    from sentence_transformers import SentenceTransformer, SentenceTransformerTrainer
    from sentence_transformers.sentence_transformer.losses import (
        CachedMultipleNegativesRankingLoss,
        MultipleNegativesRankingLoss,
    )

    from trainer.data import load_pairs
    from trainer.hashing import fingerprint
    from trainer.models import model_reference
    from trainer.phase_folder import PhaseRun
    from trainer.sampler import cui_batch_sampler
    from trainer.training import join_processes, train_summary, training_arguments, world_size

    run = PhaseRun(out, force=force, checkpoints=checkpoints, marker=marker, report=report, callbacks=callbacks)
    run.refuse({"--pairs": pairs_dir, "--base": Path(base)})
    join_processes()  # under torchrun: before the model loads, so it goes to this process's GPU

    # 1. Load the base model (e.g. all-mpnet-base-v2), truncating texts to max_seq_length tokens
    model = SentenceTransformer(model_reference(base))
    model.max_seq_length = max_seq_length

    # 2. Load the train split: columns (anchor, positive) in loss order; the cuis go to the batch sampler
    pairs = load_pairs(pairs_dir, split="train", kinds=config.kinds)
    if len(set(pairs.cuis)) < 2:  # in-batch negatives need a second concept in every batch
        raise UserError(
            f"the train pairs hold {len(set(pairs.cuis))} concept(s); contrastive training needs two or more",
            path=pairs.files[0],
            fix="build pairs from a larger knowledge graph",
        )
    logger.info("contrastive: %d training pairs of %d concepts", len(pairs.cuis), len(set(pairs.cuis)))

    # 3. Define the loss: in-batch negatives (InfoNCE); cached = GradCache, same loss with bounded memory; under
    #    several processes the negatives are gathered from all of them
    gather = world_size() > 1
    if config.loss == "cached_mnrl":
        loss = CachedMultipleNegativesRankingLoss(
            model, scale=config.scale, mini_batch_size=config.mini_batch_size, gather_across_devices=gather
        )
    else:
        loss = MultipleNegativesRankingLoss(model, scale=config.scale, gather_across_devices=gather)

    # 4. Evaluator: by default none inside the loop (`trainer run-all` scores every phase's output after it); with
    #    evaluate_during_training, the run's evaluators at every save_steps (`evaluator`: training_evaluator)

    # 5. Training arguments: warm-up, bf16 where the GPU has it, checkpoints, and the cui-aware batch sampler
    #    (sort_by_length: rows of a batch longest first, by characters of the positive, the longer text)
    lengths = [len(text) for text in pairs.dataset["positive"][:]] if config.sort_by_length else None
    batch_sampler = cui_batch_sampler(pairs.cuis, lengths=lengths, world_size=world_size())
    args = training_arguments(
        config, run.checkpoints, seed=seed, evaluate=evaluator is not None, batch_sampler=batch_sampler
    )

    # 6. Train (resuming from the newest checkpoint of an interrupted run)
    trainer = SentenceTransformerTrainer(
        model=model,
        args=args,
        train_dataset=pairs.dataset,
        loss=loss,
        callbacks=run.callbacks,
        evaluator=evaluator,
    )
    run.train(trainer, PHASE.label, fingerprint(config, base, pairs.files, max_seq_length, seed))
    summary = {"base": base, **train_summary(trainer, run.started, len(pairs.cuis))}

    # 7. Save: written beside `out`, renamed into place when complete (one process under DDP)
    run.save(model, PHASE.name, summary, config)
    return summary


def _inputs(cfg: RunConfig) -> dict[str, Any]:
    return {"base": cfg.model.base, "pairs": cfg.data.pairs}


def _run(ctx: PhaseRun, cfg: RunConfig, inputs: dict[str, Any]) -> dict[str, Any]:
    return train_contrastive(
        inputs["base"],
        inputs["pairs"],
        ctx.out,
        cfg.contrastive,
        max_seq_length=cfg.model.max_seq_length,
        seed=cfg.model.seed,
        evaluator=training_evaluator(cfg, cfg.contrastive),
        **ctx.arguments(),
    )


def _pair_files(pairs: Path) -> Any:
    from trainer.data import pair_files

    return pair_files(pairs)


PAIRS = Required("pairs", "[data] pairs", "a build-pairs output folder", check=_pair_files)
PAIRS_OPTION = Option("pairs", "--pairs", "build-pairs output folder; default [data] pairs.", kind="path")

PHASE = register(
    Phase(
        name="contrastive",
        command="contrastive",
        folder="contrastive",
        verb="training",
        label="contrastive",
        title="1. Contrastive (LORD: names ↔ definitions/descriptions)",
        config=ContrastiveConfig,
        inputs=_inputs,
        run=_run,
        help="Phase 1 (BioLORD-2023-C): contrastive training with in-batch negatives, one pair per cui in a batch.",
        epilog="Example: trainer contrastive --base sentence-transformers/all-mpnet-base-v2 "
        "--pairs pairs/ --out run/contrastive --set contrastive.max_steps=1000",
        options=(Option("base", "--base", "Base model (folder or hub id); default [model] base."), PAIRS_OPTION),
        required=(PAIRS,),
    )
)
