select
    nct_id,
    sex,
    minimum_age as minimum_age_text,
    maximum_age as maximum_age_text,
    minimum_age_years::numeric(7, 2) as minimum_age_years,
    maximum_age_years::numeric(7, 2) as maximum_age_years,
    healthy_volunteers as accepts_healthy_volunteers,
    std_ages,
    criteria
from {{ source('ctgov', 'eligibility') }}
