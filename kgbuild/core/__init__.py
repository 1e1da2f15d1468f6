"""What every kgbuild step and the trainer share: console, errors, atomic outputs, manifests, lineage, the DuckDB
engine and the packaged resources. The trainer imports kgbuild only through this package and `kgbuild.publish`."""
