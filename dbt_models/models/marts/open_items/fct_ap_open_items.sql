-- One row per open accounts-payable document at each as-of date: the payable side of fct_open_items
-- (the SQL is there), without its ledger_side column.
{{ ledger_side_rows('fct_open_items', 'payable') }}
