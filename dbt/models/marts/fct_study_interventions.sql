-- Study x intervention, linked to dim_interventions.
select
    intervention_key,
    nct_id,
    md5(coalesce('mesh:' || mesh_id, 'name:' || downcase_name)) as intervention_id,
    intervention_type,
    intervention_name as name_as_registered,
    mesh_match
from {{ ref('stg_ctgov__interventions') }}
