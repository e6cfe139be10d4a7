-- Study x condition (as the sponsor wrote it), linked to dim_conditions.
select
    condition_key,
    nct_id,
    md5(coalesce('mesh:' || mesh_id, 'name:' || downcase_name)) as condition_id,
    condition_name as name_as_registered,
    mesh_match
from {{ ref('stg_ctgov__conditions') }}
