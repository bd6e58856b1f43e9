"""The dbt project, shipped inside ``sage-pipeline`` as ``pipelines.dbt_models`` (pyproject.toml maps
this folder there) so that an installed package finds it; dbt itself ignores this file."""
