select
    run_id,
    table_name,
    expectation,
    action,
    passed,
    failed
from {{ source('ctgov', 'expectation_results') }}
