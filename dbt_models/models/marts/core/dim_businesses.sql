-- One row per Sage business loaded: its name, country and base currency, and the financial settings the
-- marts are built on (accounts start, year end). The marts, the notebook and `sage-pipeline`'s summary
-- name businesses and pick their currency from here rather than from the staging views.
with

businesses as (
    select * from {{ ref('stg_sage__businesses') }}
),

financial_settings as (
    select * from {{ ref('stg_sage__financial_settings') }}
)

select
    businesses.business_id,
    businesses.name as business_name,
    businesses.country_id,
    businesses.country_displayed_as as country_name,
    financial_settings.base_currency_id,
    financial_settings.base_currency_displayed_as as base_currency_name,
    financial_settings.multi_currency_enabled,
    financial_settings.accounts_start_date,
    financial_settings.year_end_date,
    businesses.is_demo
from businesses
left join financial_settings
    on businesses.business_id = financial_settings.business_id
