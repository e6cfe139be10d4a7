-- Conditions (diseases) across studies: one row per MeSH descriptor, or per distinct free-text
-- name when no MeSH term of the study matched (issue 9 standardizes those).
select
    md5(coalesce('mesh:' || mesh_id, 'name:' || downcase_name)) as condition_id,
    mesh_id,
    case when mesh_id is not null then max(mesh_term) else min(condition_name) end as condition_name,
    count(distinct nct_id) as n_studies,
    array_agg(distinct condition_name order by condition_name) as names_seen
from {{ ref('stg_ctgov__conditions') }}
group by 1, 2
