-- Participants and eligibility, aggregated by status, phase and condition.
-- The registry holds no patient-level data: "participants" here are the studies' enrollment
-- figures (ACTUAL for closed studies, the ESTIMATED target for open ones) and their eligibility
-- rules (sex, age range, healthy volunteers), never individual people.
with studies as (
    select * from {{ ref('dim_studies') }}
),

conditions as (
    select
        fct.nct_id,
        fct.condition_id,
        dim.condition_name
    from {{ ref('fct_study_conditions') }} as fct
    inner join {{ ref('dim_conditions') }} as dim on dim.condition_id = fct.condition_id
)

select
    studies.overall_status,
    studies.phase,
    conditions.condition_id,
    conditions.condition_name,
    count(*) as n_studies,
    sum(studies.enrollment) as total_enrollment,
    sum(studies.enrollment) filter (where studies.enrollment_type = 'ACTUAL') as actual_enrollment,
    sum(studies.enrollment) filter (where studies.enrollment_type = 'ESTIMATED') as target_enrollment,
    percentile_cont(0.5) within group (order by studies.enrollment) as median_enrollment,
    count(*) filter (where studies.eligible_sex = 'ALL') as n_studies_all_sexes,
    count(*) filter (where studies.eligible_sex = 'FEMALE') as n_studies_female_only,
    count(*) filter (where studies.eligible_sex = 'MALE') as n_studies_male_only,
    min(studies.minimum_age_years) as youngest_minimum_age_years,
    max(studies.maximum_age_years) as oldest_maximum_age_years,
    count(*) filter (where studies.maximum_age_years is null) as n_studies_without_upper_age,
    count(*) filter (where studies.accepts_healthy_volunteers) as n_studies_accepting_healthy_volunteers
from conditions
inner join studies on studies.nct_id = conditions.nct_id
group by 1, 2, 3, 4
