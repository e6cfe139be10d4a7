-- One row per study with its design and eligibility summary: the entity every other mart joins to.
-- status_group is the outcome of issue 9's model (completed vs stopped early); ongoing and
-- other studies have no outcome yet.
with studies as (
    select * from {{ ref('stg_ctgov__studies') }}
),

design as (
    select * from {{ ref('stg_ctgov__design') }}
),

eligibility as (
    select * from {{ ref('stg_ctgov__eligibility') }}
)

select
    studies.nct_id,
    studies.brief_title,
    studies.official_title,
    studies.overall_status,
    case
        when studies.overall_status = 'COMPLETED' then 'completed'
        when studies.overall_status in ('TERMINATED', 'WITHDRAWN', 'SUSPENDED') then 'stopped_early'
        when studies.overall_status in ('RECRUITING', 'NOT_YET_RECRUITING', 'ACTIVE_NOT_RECRUITING',
                                        'ENROLLING_BY_INVITATION') then 'ongoing'
        else 'other'
    end as status_group,
    studies.why_stopped,
    studies.study_type,
    studies.phases,
    coalesce(studies.phase, 'NONE') as phase,
    studies.start_date,
    studies.start_date_precision,
    studies.start_date_type,
    studies.primary_completion_date,
    studies.completion_date,
    studies.completion_date_precision,
    studies.completion_date_type,
    studies.study_first_submitted_date,
    studies.last_update_posted,
    studies.enrollment,
    studies.enrollment_type,
    studies.has_results,
    studies.has_dmc,
    studies.lead_sponsor_name,
    studies.lead_sponsor_class,
    studies.number_of_sites,
    studies.number_of_conditions,
    studies.number_of_interventions,
    studies.number_of_arms,
    design.allocation,
    design.intervention_model,
    design.primary_purpose,
    design.masking,
    eligibility.sex as eligible_sex,
    eligibility.minimum_age_years,
    eligibility.maximum_age_years,
    eligibility.accepts_healthy_volunteers
from studies
left join design on design.nct_id = studies.nct_id
left join eligibility on eligibility.nct_id = studies.nct_id
