-- One row per business, as-of date and supplier with anything open at that date: the aged creditors
-- report in base currency, from fct_ap_open_items (positive = what we owe). Purchase invoices fall into
-- the buckets by days past due; purchase credit notes and supplier payments on account are summed in
-- unallocated_credits (negative). The SQL is the macro aging_report (macros/receivables.sql).
{{ aging_report('fct_ap_open_items') }}
