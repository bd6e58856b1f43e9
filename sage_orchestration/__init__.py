"""The connector on Dagster: many Sage connections × their businesses, loaded and modelled on a schedule.

``sage_orchestration.definitions`` holds ``defs`` (``dagster dev -m sage_orchestration.definitions``).
Each part has its own module: :mod:`.partitions` (keys and run tags), :mod:`.warehouse` (where each
connection's data goes), :mod:`.discovery` (which businesses each connection reaches),
:mod:`.assets` (the load and the marts), :mod:`.failures` (retry or not), :mod:`.jobs`,
:mod:`.sensors` and :mod:`.schedules` (when they run); ``dagster.yaml`` (the instance's limits).
Nothing here talks to Sage, dlt or dbt directly: the load is :func:`pipelines.runner.run`, the
marts :func:`pipelines.runner.build_marts_only`, the businesses
:meth:`sage_source.connection.SageConnection.businesses`.
"""
