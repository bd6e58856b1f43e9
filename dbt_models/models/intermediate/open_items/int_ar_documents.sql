-- One row per posted accounts-receivable document: the receivable side of int_open_item_documents
-- (the SQL is there), without its ledger_side column.
{{ ledger_side_rows('int_open_item_documents', 'receivable') }}
