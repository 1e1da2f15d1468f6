"""Token prices from a small editable TOML table (kgbuild/llm/prices.toml, or --prices FILE)."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

from kgbuild.core.errors import UserError

DEFAULT_PRICES = Path(__file__).with_name("prices.toml")


@dataclass(frozen=True)
class Price:
    """USD per 1M tokens; `batch` is the multiplier of the Batch API."""

    model: str
    input: float
    output: float
    batch: float = 0.5

    def cost(self, prompt_tokens: int, completion_tokens: int, *, batch: bool = False) -> float:
        usd = (prompt_tokens * self.input + completion_tokens * self.output) / 1_000_000
        return usd * self.batch if batch else usd


def load_price(model: str, path: Path | None = None) -> Price | None:
    """The price of `model` (exact name, else the longest prefix in the table); None when the table lacks it."""
    path = Path(path) if path else DEFAULT_PRICES
    try:
        table = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError("price table not found", path=path, fix="pass --prices with an existing TOML file") from None
    except tomllib.TOMLDecodeError as exc:
        raise UserError(
            f"not valid TOML: {exc}", path=path, fix="fix the syntax (see kgbuild/llm/prices.toml)"
        ) from None
    models = table.get("models", {})
    name = model if model in models else max((m for m in models if model.startswith(m)), key=len, default=None)
    if name is None:
        return None
    entry = models[name]
    try:
        return Price(
            model=name,
            input=float(entry["input"]),
            output=float(entry["output"]),
            batch=float(entry.get("batch", table.get("batch", 0.5))),
        )
    except (KeyError, TypeError, ValueError):
        raise UserError(
            f"models.{name!r} needs numeric input and output prices (USD per 1M tokens)",
            path=path,
            fix="write e.g. input = 0.15 and output = 0.60",
        ) from None
