{#- `numerator` ÷ `denominator` to the cent, half away from zero, the same on every warehouse. DuckDB
    divides decimals as doubles, so round(a / b, 2) can land a half cent the other way than PostgreSQL's
    exact numeric; here the quotient is floor((2·|cents| + d) / 2d) of whole numbers, which a double
    computes exactly (a non-integer quotient of integers below 2^53 is never within an ulp of the next
    integer). `numerator` is rounded to the cent first; `denominator` is a positive whole number.
    Used for monthly averages of the recurring flows and the backtest's mean errors. -#}
{% macro divide_to_cent(numerator, denominator) -%}
    cast(
        (case when {{ numerator }} < 0 then -1 else 1 end)
        * cast(
            floor((2 * abs(round({{ numerator }}, 2)) * 100 + ({{ denominator }})) / (2 * ({{ denominator }})))
            as decimal(38, 0)
        )
        * 0.01
        as decimal(38, 9)
    )
{%- endmacro %}
