"""Harnesses shared by tests and benchmarks; not shipped in the wheel.

A client for the sandbox over HTTP (``sage_http``), a pipeline pointed at a sandbox the way a user
points it at Sage (``pipeline_env``), the warehouse-equals-the-books diff (``warehouse``), dbt builds
on real loads (``marts_builds``), kill harnesses (``crash_runs``), a misbehaving fake Sage
(``fake_sage``), Sage's swagger read as rules and schemas, a throwaway PostgreSQL and a small disk.
The tests in ``tests/`` and the figures in ``benchmarks/`` import them as ``testkit.<module>``.
"""
