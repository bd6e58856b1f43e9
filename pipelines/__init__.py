"""The ``sage-pipeline`` command line: auth bootstrap, scheduled runs, the demo (next issues)."""
