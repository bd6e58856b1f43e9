-- One row per open accounts-receivable document at each as-of date: the receivable side of fct_open_items
-- (the SQL is there), without its ledger_side column.
{{ ledger_side_rows('fct_open_items', 'receivable') }}
