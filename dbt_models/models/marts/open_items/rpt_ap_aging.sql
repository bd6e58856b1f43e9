-- One row per business, as-of date and supplier with anything open: the payable side of rpt_aging
-- (the SQL is there), without its ledger_side column.
{{ ledger_side_rows('rpt_aging', 'payable') }}
