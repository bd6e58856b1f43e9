-- One row per business, as-of date and supplier with anything open: the payable side of rpt_aging
-- (the SQL is there), without its ledger_side column.
-- A view: the rows are rpt_aging's, which is a table already; a copy would be written again in every
-- build, incremental ones included.
{{ config(materialized='view') }}
{{ ledger_side_rows('rpt_aging', 'payable') }}
