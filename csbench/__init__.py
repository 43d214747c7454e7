"""csbench: a Snakemake benchmark harness for code-switching speech recognition."""

__version__ = "0.1.0"
