select
    quarantine_id,
    table_name,
    nct_id,
    expectation,
    reason,
    run_id
from {{ source('ctgov', 'quarantine') }}
