select
    site_key,
    nct_id,
    ordinal,
    facility as facility_name,
    status as recruitment_status,
    city,
    state,
    zip,
    country,
    latitude,
    longitude
from {{ source('ctgov', 'sites') }}
