"""The cash-flow notebook, shipped inside ``sage-pipeline`` as ``pipelines.notebooks`` (pyproject.toml
maps this folder there) so that an installed package finds it."""
