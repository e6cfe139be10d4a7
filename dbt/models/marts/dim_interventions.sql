-- Interventions (medications and other treatments) across studies: one row per MeSH entry, or
-- per distinct name without one. is_medication = drug or biological in at least one study.
select
    md5(coalesce('mesh:' || mesh_id, 'name:' || downcase_name)) as intervention_id,
    mesh_id,
    case when mesh_id is not null then max(mesh_term) else min(intervention_name) end as intervention_name,
    mode() within group (order by intervention_type) as intervention_type,
    bool_or(intervention_type in ('DRUG', 'BIOLOGICAL')) as is_medication,
    count(distinct nct_id) as n_studies
from {{ ref('stg_ctgov__interventions') }}
group by 1, 2
