-- One row per posted accounts-payable document: purchase invoices, purchase credit notes, purchase
-- quick entries (invoice or credit note) and supplier payments on account (the unallocated part of a
-- VENDOR_PAYMENT). The mirror of int_ar_documents. Posted = not void, not draft or pro forma, not deleted; a payment on account
-- counts while its payment is not deleted. Amounts are Sage's, unsigned as Sage shows them; `sign`
-- (+1 invoices, −1 credit notes and payments on account) says how they count towards what we owe
-- suppliers. Credit notes and payments on account have no due date: they are due on their own date.
-- The allocation summary (allocated_doc, allocation_count, settled_date) comes from
-- int_artefact_allocations_unioned; settled_date is the date the document was cleared in full.
{{ ledger_documents(
    side='purchase',
    payment_type='VENDOR_PAYMENT',
    invoice_number='displayed_as',
    credit_note_number='displayed_as',
) }}
