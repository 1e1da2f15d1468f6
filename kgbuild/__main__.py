from __future__ import annotations

from kgbuild.cli import main

main()
