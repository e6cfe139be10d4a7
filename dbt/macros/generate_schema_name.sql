{# Every model goes to the profile's schema (DBT_PG_SCHEMA) as configured, never
   "<schema>_<custom>": the job and README name one marts schema. #}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {{ custom_schema_name | trim if custom_schema_name is not none else target.schema }}
{%- endmacro %}
