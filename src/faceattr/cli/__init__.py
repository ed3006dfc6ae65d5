"""Command-line interface: ``faceattr <command>``; each command is a thin module here."""
