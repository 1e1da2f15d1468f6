"""`trainer`: composes one module per command (trainer/commands/)."""

from __future__ import annotations

from kgbuild.core.console import make_app, run_app
from trainer import __version__
from trainer.commands import evalsets, evaluate, linking, phases, push, run_all

app = make_app(
    "trainer",
    "Train and evaluate BioLORD-2023-style embedding models: contrastive → self-distillation → averaging.",
    __version__,
)

for module in (run_all, phases, evaluate, evalsets, linking, push):
    module.register(app)


def main() -> None:
    run_app(app)


if __name__ == "__main__":
    main()
