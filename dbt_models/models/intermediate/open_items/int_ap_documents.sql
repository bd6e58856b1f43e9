-- One row per posted accounts-payable document: the payable side of int_open_item_documents
-- (the SQL is there), without its ledger_side column.
{{ ledger_side_rows('int_open_item_documents', 'payable') }}
