-- One row per open accounts-payable document at each as-of date: the payable side of fct_open_items
-- (the SQL is there), without its ledger_side column.
-- A view: the rows are fct_open_items's, which is a table already; a copy would be written again in every
-- build, incremental ones included.
{{ config(materialized='view') }}
{{ ledger_side_rows('fct_open_items', 'payable') }}
