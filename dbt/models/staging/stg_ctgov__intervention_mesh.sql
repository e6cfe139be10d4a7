select
    intervention_mesh_key,
    nct_id,
    mesh_id,
    mesh_term
from {{ source('ctgov', 'intervention_mesh') }}
