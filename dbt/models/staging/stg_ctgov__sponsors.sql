select
    sponsor_key,
    nct_id,
    ordinal,
    lead_or_collaborator,
    name as sponsor_name,
    agency_class
from {{ source('ctgov', 'sponsors') }}
