"""Command-line face of bonemets (typer). It parses arguments, calls the core, prints results."""
