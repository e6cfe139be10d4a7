-- The aggregate must count every (study, condition) pair of the fact table exactly once: a join
-- that drops or duplicates studies would silently skew every enrollment figure.
with pairs as (
    select count(*) as n from {{ ref('fct_study_conditions') }}
),
agg as (
    select coalesce(sum(n_studies), 0) as n from {{ ref('agg_participants_eligibility') }}
)
select pairs.n as fact_pairs, agg.n as aggregated
from pairs cross join agg
where pairs.n <> agg.n
