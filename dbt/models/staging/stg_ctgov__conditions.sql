select
    condition_key,
    nct_id,
    ordinal,
    name as condition_name,
    downcase_name,
    mesh_id,
    mesh_term,
    mesh_match
from {{ source('ctgov', 'conditions') }}
