"""`kgbuild`: composes one module per command (kgbuild/commands/)."""

from __future__ import annotations

from kgbuild import __version__
from kgbuild.commands import build_pairs, demo, extract, generate_definitions, info, publish, validate
from kgbuild.core.console import make_app, run_app

app = make_app("kgbuild", "Biomedical knowledge graphs (UMLS, OBO) to BioLORD-style training data.", __version__)

for module in (extract, generate_definitions, build_pairs, publish, validate, info, demo):
    module.register(app)


def main() -> None:
    run_app(app)


if __name__ == "__main__":
    main()
