"""The version of edgesea (one place; read by the package root, the CLI and provenance)."""

__version__ = "0.1.0"
