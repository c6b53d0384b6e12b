"""The command-line face: typer commands, thin. `realm_tui.cli.app:main` is the console script."""
