{# NCT IDs are "NCT" followed by exactly 8 digits; NULLs are not_null's business. #}
{% test nct_id_format(model, column_name) %}
select {{ column_name }}
from {{ model }}
where {{ column_name }} !~ '^NCT[0-9]{8}$'
{% endtest %}
