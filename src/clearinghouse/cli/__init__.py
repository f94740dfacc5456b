"""The ``clearinghouse`` command: thin Typer commands that parse, call the pipeline, render."""
