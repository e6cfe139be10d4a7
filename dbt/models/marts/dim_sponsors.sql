-- Sponsors (organizations and individuals), with how often they lead or collaborate.
select
    md5(lower(sponsor_name)) as sponsor_id,
    min(sponsor_name) as sponsor_name,
    mode() within group (order by agency_class) as agency_class,
    count(distinct nct_id) filter (where lead_or_collaborator = 'lead') as n_studies_as_lead,
    count(distinct nct_id) filter (where lead_or_collaborator = 'collaborator') as n_studies_as_collaborator
from {{ ref('stg_ctgov__sponsors') }}
where sponsor_name is not null
group by 1
