-- One row per business, as-of date and customer with anything open at that date: the aged debtors
-- report in base currency, from fct_ar_open_items. Invoices (and quick-entry invoices) fall into
-- current / d1_30 / d31_60 / d61_90 / d90_plus by days past due; credit notes and payments on
-- account, whatever their age, are summed in unallocated_credits (negative), so
-- current + buckets + unallocated_credits = total_outstanding. oldest_due_date is the earliest due date
-- of the customer's open invoices (null when only credits are open). credit_limit from the contact.
-- The SQL is the macro aging_report (macros/receivables.sql), shared with rpt_ap_aging.
{{ aging_report('fct_ar_open_items') }}
