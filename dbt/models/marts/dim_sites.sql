-- Study sites (facilities), one row per facility + city + country, with the studies they run.
select
    md5(lower(coalesce(facility_name, '')) || '|' || lower(coalesce(city, '')) || '|'
        || lower(coalesce(country, ''))) as site_id,
    min(facility_name) as facility_name,
    min(city) as city,
    min(state) as state,
    min(country) as country,
    avg(latitude) as latitude,
    avg(longitude) as longitude,
    count(distinct nct_id) as n_studies
from {{ ref('stg_ctgov__sites') }}
group by 1
