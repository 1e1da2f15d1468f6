"""`DefinitionGenerator`: the library object behind `kgbuild generate-definitions`.

    from kgbuild.llm import DefinitionGenerator, GenerateConfig
    summary = DefinitionGenerator("kg", "defs", GenerateConfig(model="gpt-4o-mini", budget_usd=5)).run()
    print(summary.line())

Flow: KG facts (streamed, most-connected first) → prompt → request key → skip if cached → a runner (online.py:
N async workers with rate limits and retries; batch.py: the Batch API) → the recorder (recorder.py: output checks,
journal + Parquet shards) → contract check → manifest. Types shared by all of them are in config.py; nothing imports
this module but the command.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

from kgbuild import lineage
from kgbuild.atomic import check_overlap
from kgbuild.contracts import check_or_raise, table_files
from kgbuild.errors import UserError
from kgbuild.llm.batch import BatchRunner
from kgbuild.llm.cache import CHECK_FAILURES, ERROR, OK, TABLE, DefinitionStore, is_ours, request_key, short_key
from kgbuild.llm.client import RunStopped, api_key_from_env
from kgbuild.llm.config import GenerateConfig, Request, Summary, estimate_prompt_tokens
from kgbuild.llm.online import OnlineRunner
from kgbuild.llm.pricing import load_price
from kgbuild.llm.prompt import TEMPLATE_VERSION, KGFacts, Selection, render_messages
from kgbuild.llm.recorder import ProgressBar, Recorder
from kgbuild.manifest import write_manifest

__all__ = ["DefinitionGenerator", "GenerateConfig", "Summary"]


class DefinitionGenerator:
    def __init__(
        self,
        kg: Path | str,
        out: Path | str,
        config: GenerateConfig | None = None,
        *,
        progress: bool = False,
        on_row: Callable[[dict[str, Any]], None] | None = None,
    ):
        self.kg = Path(kg)
        self.out = Path(out)
        self.config = config or GenerateConfig()
        self.progress = progress
        self.on_row = on_row
        self.summary = Summary(budget_usd=self.config.budget_usd)
        self.price = load_price(self.config.model, self.config.prices)
        self._validate()

    def _validate(self) -> None:
        """Every check that needs no server, before anything is written."""
        c = self.config
        if not self.kg.is_dir() or not table_files(self.kg, "concepts"):
            raise UserError(
                "no KG here (concepts table missing)",
                path=self.kg,
                fix="pass the output folder of `kgbuild extract` as --kg",
            )
        if self.out.exists() and not self.out.is_dir():
            raise UserError("--out is a file", path=self.out, fix="give a folder (new, or one from an earlier run)")
        check_overlap(self.out, {"--kg": self.kg})
        if self.out.is_dir() and any(self.out.iterdir()) and not is_ours(self.out):
            raise UserError(
                "--out holds files that generate-definitions did not write",
                path=self.out,
                fix="give a new folder, or the DEFS folder of an earlier run to resume it",
            )
        if c.timeout_s <= 0:
            raise UserError("--timeout must be positive", fix="e.g. --timeout 60")
        if c.retry.max_attempts < 1:
            raise UserError("--max-attempts must be at least 1", fix="e.g. --max-attempts 6")
        api_key_from_env(c.base_url)
        if c.concurrency < 1:
            raise UserError("--concurrency must be at least 1", fix="e.g. --concurrency 64")
        if c.limit is not None and c.limit < 0:
            raise UserError("--limit must be zero or more")
        for name in ("rpm", "tpm", "budget_usd"):
            value = getattr(c, name)
            if value is not None and value <= 0:
                raise UserError(f"--{name.replace('_', '-')} must be positive", fix="leave it out for no limit")
        if c.budget_usd is not None and self.price is None:
            raise UserError(
                f"no price for model {c.model!r}, so --budget-usd cannot be enforced",
                path=c.prices or "kgbuild/llm/prices.toml",
                fix=f'add [models."{c.model}"] with input/output prices, or pass --prices FILE',
            )
        self.summary.unpriced = self.price is None

    # -- requests --------------------------------------------------------------------------------------------------

    def _requests(self, facts: KGFacts, skip: set[bytes]) -> Iterator[Request | None]:
        """The requests to send, in order; None now and then while skipping cached ones (a chance to yield)."""
        params = self.config.params()
        model = self.config.model
        for f in facts:
            messages = render_messages(f)
            key = request_key(model, messages, params, TEMPLATE_VERSION)
            if short_key(key) in skip:
                self.summary.cached += 1
                if self.summary.cached % 2000 == 0:
                    yield None  # a long cached stretch: let the workers' answers in (see `produce`)
                continue
            if f.shared_name:
                # Two concepts with the same name and facts make the same request: send it once. Only concepts
                # whose name another target shares are remembered, so this set stays small.
                skip.add(short_key(key))
            yield Request(
                key=key,
                cui=f.cui,
                names=f.names,
                body={"model": model, "messages": messages, **params},
                est_prompt_tokens=estimate_prompt_tokens(messages),
            )

    # -- running ---------------------------------------------------------------------------------------------------

    def run(self) -> Summary:
        return asyncio.run(self.arun())

    async def arun(self) -> Summary:
        started = time.monotonic()
        c = self.config
        selection = Selection(only_missing=c.only_missing, order=c.order, limit=c.limit)
        # The KG is read (and its problems reported) before anything is written to --out. Nothing in --out is ever
        # deleted, whatever happens: a stopped run may already have paid (a submitted batch, requests in flight),
        # and its journal and ledger are what let the rerun resume instead of paying again.
        with KGFacts(self.kg, selection) as facts:
            self.summary.selected = facts.count
            store = DefinitionStore(self.out, flush_rows=c.flush_rows, flush_seconds=c.flush_seconds)
            with store:
                self.summary.recovered_rows = store.recovered_rows
                skip = store.skip_keys(retry_failed=c.retry_failed)
                with ProgressBar(facts.count, enabled=self.progress) as bar:
                    recorder = Recorder(c, self.price, self.summary, store, bar=bar, on_row=self.on_row)
                    requests = self._requests(facts, skip)
                    runner = BatchRunner(recorder) if c.batch else OnlineRunner(recorder)
                    await runner.run(requests)
        # The store is closed (flushed, compacted): the shards must now read as one valid table.
        check_or_raise(TABLE, self.out)
        self.summary.statuses = DefinitionStore(self.out).counts()
        self.summary.elapsed_s = time.monotonic() - started
        self._write_manifest()
        if self.summary.stopped:
            stop = RunStopped(self.summary.stopped)
            stop.summary = self.summary
            raise stop
        return self.summary

    def _write_manifest(self) -> None:
        kg_tables = {}
        for table in ("concepts", "names", "relations"):
            files = table_files(self.kg, table)
            kg_tables[table] = {
                "files": [str(Path(f).relative_to(self.kg)) for f in files],
                "bytes": sum(Path(f).stat().st_size for f in files),
            }
        params = self.config.to_json()
        params["template_version"] = TEMPLATE_VERSION
        price = asdict(self.price) if self.price else None
        write_manifest(
            self.out,
            command="generate-definitions",
            inputs={"kg": str(self.kg), "tables": kg_tables},
            parameters=params,
            tables={TABLE: sum(self.summary.statuses.values())},
            timings={"total": self.summary.elapsed_s},
            extra={
                "lineage": lineage.carry(self.kg),  # publishing reads the licence here
                "summary": asdict(self.summary),
                "price_per_1m_tokens": price,
                "statuses": {"ok": OK, "retried_every_run": ERROR, "retried_with_retry_failed": list(CHECK_FAILURES)},
            },
        )
