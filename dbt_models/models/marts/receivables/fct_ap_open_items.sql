-- One row per open accounts-payable document at each as-of date: the mirror of fct_ar_open_items over
-- int_ap_documents. Amounts are positive for what we owe suppliers (purchase invoices), negative for
-- purchase credit notes and supplier payments on account. Same as-of dates, book-rate base amounts and
-- aging buckets as fct_ar_open_items; the SQL is the macro open_items (macros/receivables.sql).
{{ open_items('int_ap_documents') }}
