-- One row per business, as-of date and customer with anything open: the receivable side of rpt_aging
-- (the SQL is there), without its ledger_side column.
{{ ledger_side_rows('rpt_aging', 'receivable') }}
