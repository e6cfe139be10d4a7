select
    nct_id,
    allocation,
    intervention_model,
    primary_purpose,
    masking,
    observational_model,
    time_perspective,
    patient_registry
from {{ source('ctgov', 'design') }}
