"""One module per `kgbuild` command; each exposes register(app)."""
