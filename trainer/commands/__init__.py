"""One module per `trainer` command, each exposing `register(app)`."""
