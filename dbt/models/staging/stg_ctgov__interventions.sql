select
    intervention_key,
    nct_id,
    ordinal,
    type as intervention_type,
    name as intervention_name,
    lower(name) as downcase_name,
    description,
    other_names,
    mesh_id,
    mesh_term,
    mesh_match
from {{ source('ctgov', 'interventions') }}
