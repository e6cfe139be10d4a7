select
    condition_mesh_key,
    nct_id,
    mesh_id,
    mesh_term
from {{ source('ctgov', 'condition_mesh') }}
