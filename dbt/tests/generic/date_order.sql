{#
  Rows where an ACTUAL start lies after an ACTUAL end. Estimated dates are plans and may be
  re-planned in any order, so they are not checked. With end_precision_column, the end is read as
  the last day of its period ("2015-08" stored as 2015-08-01 means all of August), the same rule as
  the silver expectation start_not_after_completion.
#}
{% test date_order(model, start_column, end_column, start_type_column, end_type_column, end_precision_column=none) %}
select *
from {{ model }}
where {{ start_column }} is not null
  and {{ end_column }} is not null
  and {{ start_type_column }} = 'ACTUAL'
  and {{ end_type_column }} = 'ACTUAL'
  and {{ start_column }} >
  {%- if end_precision_column %}
      case {{ end_precision_column }}
          when 'year' then ({{ end_column }} + interval '1 year' - interval '1 day')::date
          when 'month' then ({{ end_column }} + interval '1 month' - interval '1 day')::date
          else {{ end_column }}
      end
  {%- else %} {{ end_column }}
  {%- endif %}
{% endtest %}
