#!/usr/bin/env python3
"""Generate deterministic synthetic ClinicalTrials.gov studies in the API v2 JSON shape.

Where it sits: test input for the clinical-trials pipeline. The replay server
(`lakeprep.trials.replay`) serves these studies as `/api/v2/studies` pages, the warehouse tests
build bronze-shaped rows from them, and issue 9's outcome model trains on them. Nothing is
downloaded: every value comes from the lists below and a seeded RNG, so the same --seed always
yields byte-identical files (a static test regenerates and compares them).

Writes into --out:
  studies.json     a JSON list, one study per line, in the order the replay server pages them
  metadata.json    a `/studies/metadata`-shaped tree covering the fields the studies use, except
                   the deliberately unknown ones
  edge_cases.json  {case name: [nct ids or list positions]} so tests can find what was planted

Realism: statuses follow roughly the registry's mix, and the chance that a closed study ends
TERMINATED / WITHDRAWN / SUSPENDED rather than COMPLETED rises with early phase, small planned
enrollment, a single site and a non-industry sponsor, so an outcome model has signal to learn.

Usage: make_ctgov_fixtures.py --out tests/fixtures/ctgov [--studies 200] [--seed 8]
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import sys
from pathlib import Path
from random import Random

# The "today" of the synthetic registry: statuses and estimated/actual date types are decided
# relative to it, never to the wall clock, so output does not change from day to day.
DATA_DATE = dt.date(2025, 6, 1)
API_VERSION = "2.0.5"

# category -> conditions as (free-text variants sponsors write, MeSH id, MeSH term). The free-text
# variants differ from the MeSH term on purpose: issue 9 standardizes them.
CONDITIONS = {
    "oncology": [
        (["Breast Cancer", "Breast Neoplasms", "HER2-positive Breast Cancer", "Metastatic Breast Cancer"], "D001943", "Breast Neoplasms"),
        (["Non-small Cell Lung Cancer", "NSCLC", "Lung Cancer, Non-Small Cell"], "D002289", "Carcinoma, Non-Small-Cell Lung"),
        (["Prostate Cancer", "Prostatic Neoplasms", "Metastatic Castration-resistant Prostate Cancer"], "D011471", "Prostatic Neoplasms"),
        (["Colorectal Cancer", "Colon Cancer", "Rectal Adenocarcinoma"], "D015179", "Colorectal Neoplasms"),
        (["Melanoma", "Advanced Melanoma", "Cutaneous Melanoma"], "D008545", "Melanoma"),
        (["Acute Myeloid Leukemia", "AML", "Leukemia, Myeloid, Acute"], "D015470", "Leukemia, Myeloid, Acute"),
    ],
    "metabolic": [
        (["Type 2 Diabetes", "Diabetes Mellitus, Type 2", "T2DM", "Type2 Diabetes Mellitus"], "D003924", "Diabetes Mellitus, Type 2"),
        (["Obesity", "Overweight and Obesity", "Morbid Obesity"], "D009765", "Obesity"),
        (["Type 1 Diabetes", "Diabetes Mellitus, Type 1", "T1D"], "D003922", "Diabetes Mellitus, Type 1"),
    ],
    "cardio": [
        (["Hypertension", "High Blood Pressure", "Essential Hypertension"], "D006973", "Hypertension"),
        (["Heart Failure", "Chronic Heart Failure", "HFrEF"], "D006333", "Heart Failure"),
        (["Stroke", "Acute Ischemic Stroke", "Cerebrovascular Accident"], "D020521", "Stroke"),
        (["Atrial Fibrillation", "AF", "Paroxysmal Atrial Fibrillation"], "D001281", "Atrial Fibrillation"),
    ],
    "neuro": [
        (["Alzheimer Disease", "Alzheimer's Disease", "Mild Cognitive Impairment due to AD"], "D000544", "Alzheimer Disease"),
        (["Parkinson Disease", "Parkinson's Disease", "Early Parkinson's"], "D010300", "Parkinson Disease"),
        (["Multiple Sclerosis", "Relapsing Multiple Sclerosis", "RRMS"], "D009103", "Multiple Sclerosis"),
        (["Migraine", "Chronic Migraine", "Migraine Without Aura"], "D008881", "Migraine Disorders"),
        (["Epilepsy", "Focal Epilepsy", "Drug-resistant Epilepsy"], "D004827", "Epilepsy"),
    ],
    "psych": [
        (["Major Depressive Disorder", "Depression", "MDD"], "D003865", "Depressive Disorder, Major"),
        (["Schizophrenia", "Schizophrenia Spectrum Disorders"], "D012559", "Schizophrenia"),
        (["Generalized Anxiety Disorder", "Anxiety", "Anxiety Disorders"], "D001008", "Anxiety Disorders"),
    ],
    "immuno": [
        (["Rheumatoid Arthritis", "RA", "Arthritis, Rheumatoid"], "D001172", "Arthritis, Rheumatoid"),
        (["Psoriasis", "Plaque Psoriasis", "Moderate to Severe Plaque Psoriasis"], "D011565", "Psoriasis"),
        (["Crohn Disease", "Crohn's Disease", "Crohns Disease"], "D003424", "Crohn Disease"),
    ],
    "infectious": [
        (["HIV Infections", "HIV-1 Infection", "HIV"], "D015658", "HIV Infections"),
        (["COVID-19", "SARS-CoV-2 Infection", "Covid19"], "D000086382", "COVID-19"),
        (["Hepatitis C", "Chronic Hepatitis C", "HCV Infection"], "D006526", "Hepatitis C"),
    ],
    "respiratory": [
        (["Asthma", "Severe Asthma", "Asthma in Children"], "D001249", "Asthma"),
        (["COPD", "Chronic Obstructive Pulmonary Disease", "Pulmonary Disease, Chronic Obstructive"], "D029424", "Pulmonary Disease, Chronic Obstructive"),
        (["Obstructive Sleep Apnea", "OSA", "Sleep Apnea"], "D020181", "Sleep Apnea, Obstructive"),
    ],
    "pain": [
        (["Postoperative Pain", "Pain, Postoperative", "Post-surgical Pain"], "D010149", "Pain, Postoperative"),
        (["Knee Osteoarthritis", "Osteoarthritis", "Osteoarthritis of the Knee"], "D020370", "Osteoarthritis, Knee"),
        (["Chronic Low Back Pain", "Low Back Pain"], "D017116", "Low Back Pain"),
    ],
}

# category -> interventions as (type, name, other names, MeSH id or None, MeSH term or None).
# Supplementary-concept ids (C...) occur in the real registry for newer drugs.
INTERVENTIONS = {
    "oncology": [
        ("DRUG", "Pembrolizumab", ["MK-3475", "Keytruda"], "C582435", "pembrolizumab"),
        ("BIOLOGICAL", "Trastuzumab", ["Herceptin"], "D000068878", "Trastuzumab"),
        ("DRUG", "Paclitaxel", ["Taxol"], "D017239", "Paclitaxel"),
        ("DRUG", "Cisplatin", [], "D002945", "Cisplatin"),
        ("RADIATION", "Stereotactic Body Radiation Therapy", ["SBRT"], None, None),
        ("PROCEDURE", "Sentinel Lymph Node Biopsy", [], None, None),
    ],
    "metabolic": [
        ("DRUG", "Metformin", ["Glucophage"], "D008687", "Metformin"),
        ("DRUG", "Semaglutide", ["Ozempic"], "C000591245", "semaglutide"),
        ("DRUG", "Insulin Glargine", ["Lantus"], "D000069036", "Insulin Glargine"),
        ("BEHAVIORAL", "Lifestyle Intervention", ["Diet and exercise counselling"], None, None),
        ("DEVICE", "Continuous Glucose Monitor", ["CGM"], None, None),
    ],
    "cardio": [
        ("DRUG", "Lisinopril", [], "D017706", "Lisinopril"),
        ("DRUG", "Atorvastatin", ["Lipitor"], "D000069059", "Atorvastatin"),
        ("DRUG", "Apixaban", ["Eliquis"], "C522181", "apixaban"),
        ("DRUG", "Aspirin", ["Acetylsalicylic acid"], "D001241", "Aspirin"),
        ("DEVICE", "Catheter Ablation System", [], None, None),
    ],
    "neuro": [
        ("DRUG", "Donepezil", ["Aricept"], "D000077265", "Donepezil"),
        ("DRUG", "Levodopa", ["L-DOPA"], "D007980", "Levodopa"),
        ("BIOLOGICAL", "Ocrelizumab", ["Ocrevus"], "C548955", "ocrelizumab"),
        ("DRUG", "Topiramate", [], "D000077236", "Topiramate"),
        ("DEVICE", "Transcranial Magnetic Stimulation", ["TMS"], None, None),
    ],
    "psych": [
        ("DRUG", "Sertraline", ["Zoloft"], "D020280", "Sertraline"),
        ("DRUG", "Esketamine", ["Spravato"], "C000609491", "esketamine"),
        ("BEHAVIORAL", "Cognitive Behavioral Therapy", ["CBT"], None, None),
        ("DRUG", "Aripiprazole", ["Abilify"], "D000068180", "Aripiprazole"),
    ],
    "immuno": [
        ("BIOLOGICAL", "Adalimumab", ["Humira"], "D000068879", "Adalimumab"),
        ("DRUG", "Methotrexate", [], "D008727", "Methotrexate"),
        ("BIOLOGICAL", "Ustekinumab", ["Stelara"], "D000069549", "Ustekinumab"),
        ("DRUG", "Tofacitinib", ["Xeljanz"], "C479163", "tofacitinib"),
    ],
    "infectious": [
        ("DRUG", "Remdesivir", ["GS-5734"], "C000606551", "remdesivir"),
        ("DRUG", "Sofosbuvir", ["Sovaldi"], "D000069474", "Sofosbuvir"),
        ("DRUG", "Dolutegravir", [], "C562325", "dolutegravir"),
        ("BIOLOGICAL", "mRNA-1273 Vaccine", ["Spikevax"], "D000090982", "2019-nCoV Vaccine mRNA-1273"),
    ],
    "respiratory": [
        ("DRUG", "Budesonide/Formoterol", ["Symbicort"], "D019819", "Budesonide"),
        ("BIOLOGICAL", "Mepolizumab", ["Nucala"], "C527185", "mepolizumab"),
        ("DEVICE", "CPAP", ["Continuous Positive Airway Pressure"], None, None),
        ("DRUG", "Tiotropium", ["Spiriva"], "D000069447", "Tiotropium Bromide"),
    ],
    "pain": [
        ("DRUG", "Bupivacaine", ["Marcaine"], "D002045", "Bupivacaine"),
        ("DRUG", "Ibuprofen", [], "D007052", "Ibuprofen"),
        ("PROCEDURE", "Nerve Block", ["Regional anesthesia"], None, None),
        ("DIETARY_SUPPLEMENT", "Vitamin D3", ["Cholecalciferol"], "D002762", "Cholecalciferol"),
        ("BEHAVIORAL", "Physical Therapy Program", [], None, None),
    ],
}
PLACEBO = ("DRUG", "Placebo", ["Matching placebo"], None, None)

# Sponsor classes as the API spells them. Real names are used only as sponsor labels.
SPONSORS = [
    ("Pfizer", "INDUSTRY"), ("Novartis Pharmaceuticals", "INDUSTRY"), ("AstraZeneca", "INDUSTRY"),
    ("Merck Sharp & Dohme LLC", "INDUSTRY"), ("Eli Lilly and Company", "INDUSTRY"),
    ("Hoffmann-La Roche", "INDUSTRY"), ("Brightwater Therapeutics Inc.", "INDUSTRY"),
    ("Kestrel Biosciences", "INDUSTRY"),
    ("National Cancer Institute (NCI)", "NIH"), ("National Institute of Mental Health (NIMH)", "NIH"),
    ("VA Office of Research and Development", "FED"),
    ("Massachusetts General Hospital", "OTHER"), ("University of California, San Francisco", "OTHER"),
    ("Mayo Clinic", "OTHER"), ("Assiut University", "OTHER"), ("Cairo University", "OTHER"),
    ("Charite University, Berlin, Germany", "OTHER"), ("University Hospital, Toulouse", "OTHER"),
    ("Seoul National University Hospital", "OTHER"), ("Children's Oncology Group", "NETWORK"),
    ("Dr. Amelia Hart", "INDIV"), ("Ministry of Health, Brazil", "OTHER_GOV"),
]
SPONSOR_WEIGHTS = [5, 4, 4, 3, 3, 3, 2, 2, 3, 2, 2, 4, 4, 4, 3, 3, 2, 2, 2, 2, 1, 1]

# (facility, city, state or None, zip or None, country, lat, lon)
FACILITIES = [
    ("Massachusetts General Hospital", "Boston", "Massachusetts", "02114", "United States", 42.3601, -71.0589),
    ("UCSF Medical Center", "San Francisco", "California", "94143", "United States", 37.7749, -122.4194),
    ("Mayo Clinic in Rochester", "Rochester", "Minnesota", "55905", "United States", 44.0121, -92.4802),
    ("MD Anderson Cancer Center", "Houston", "Texas", "77030", "United States", 29.7633, -95.3633),
    ("Northwestern Memorial Hospital", "Chicago", "Illinois", "60611", "United States", 41.85, -87.65),
    ("Emory University Hospital", "Atlanta", "Georgia", "30322", "United States", 33.749, -84.388),
    ("Research Site", "Seattle", "Washington", "98104", "United States", 47.6062, -122.3321),
    ("Research Site", "Phoenix", "Arizona", "85004", "United States", 33.4484, -112.074),
    ("Toronto General Hospital", "Toronto", "Ontario", "M5G 2C4", "Canada", 43.7001, -79.4163),
    ("Charite - Universitaetsmedizin Berlin", "Berlin", None, "10117", "Germany", 52.5244, 13.4105),
    ("Hopital Europeen Georges Pompidou", "Paris", None, "75015", "France", 48.8534, 2.3488),
    ("CHU de Toulouse", "Toulouse", None, "31059", "France", 43.6043, 1.4437),
    ("Hospital Clinic de Barcelona", "Barcelona", None, "08036", "Spain", 41.3888, 2.159),
    ("Guy's Hospital", "London", None, "SE1 9RT", "United Kingdom", 51.5085, -0.1257),
    ("Assiut University Hospital", "Assiut", None, None, "Egypt", 27.181, 31.1837),
    ("Kasr Al Ainy Hospital", "Cairo", None, "11562", "Egypt", 30.0626, 31.2497),
    ("Seoul National University Hospital", "Seoul", None, "03080", "Korea, Republic of", 37.566, 126.9784),
    ("Peking Union Medical College Hospital", "Beijing", "Beijing", "100730", "China", 39.9075, 116.3972),
    ("Hospital Israelita Albert Einstein", "Sao Paulo", "SP", "05652-900", "Brazil", -23.5475, -46.6361),
    ("Royal Melbourne Hospital", "Melbourne", "Victoria", "3050", "Australia", -37.814, 144.9633),
    ("Research Site", "Osaka", None, None, "Japan", 34.6937, 135.5022),
    ("Research Site", "Warsaw", None, None, "Poland", 52.2298, 21.0118),
]

PHASE_CHOICES = [(["NA"], 28), (["EARLY_PHASE1"], 4), (["PHASE1"], 13), (["PHASE1", "PHASE2"], 5),
                 (["PHASE2"], 21), (["PHASE2", "PHASE3"], 3), (["PHASE3"], 15), (["PHASE4"], 11)]
WHY_STOPPED = {
    "TERMINATED": ["Slow accrual", "Sponsor decision", "Lack of efficacy at interim analysis",
                   "Funding ended", "Business reasons", "Safety concerns"],
    "WITHDRAWN": ["No participants enrolled", "PI left the institution", "Study not funded",
                  "Sponsor withdrew support"],
    "SUSPENDED": ["Temporary halt for safety review", "Drug supply issue", "Site staffing"],
}
PURPOSES = ["TREATMENT"] * 6 + ["PREVENTION", "SUPPORTIVE_CARE", "DIAGNOSTIC", "HEALTH_SERVICES_RESEARCH", "BASIC_SCIENCE"]


def weighted(rng: Random, choices):
    items, weights = zip(*choices)
    return rng.choices(items, weights=weights, k=1)[0]


def add_months(d: dt.date, months: int) -> dt.date:
    y, m = divmod(d.month - 1 + months, 12)
    return dt.date(d.year + y, m + 1, min(d.day, 28))


def fmt(d: dt.date, precision: str) -> str:
    return {"year": f"{d:%Y}", "month": f"{d:%Y-%m}", "day": f"{d:%Y-%m-%d}"}[precision]


def date_struct(d: dt.date, precision: str, actual: bool) -> dict:
    return {"date": fmt(d, precision), "type": "ACTUAL" if actual else "ESTIMATED"}


def pick_status(rng: Random, start: dt.date, planned_end: dt.date, risk: float, sponsor_class: str):
    """(status, last known status or None) from where today falls in the study's planned life."""
    if start > DATA_DATE:
        return "NOT_YET_RECRUITING", None
    if planned_end > DATA_DATE:
        # Ongoing studies can still be stopped early; the same risk score applies, damped.
        if rng.random() < 0.25 / (1 + math.exp(-risk)):
            return rng.choice(["TERMINATED", "SUSPENDED", "WITHDRAWN"]), None
        return weighted(rng, [("RECRUITING", 55), ("ACTIVE_NOT_RECRUITING", 30),
                              ("ENROLLING_BY_INVITATION", 8), ("NOT_YET_RECRUITING", 7)]), None
    # Non-industry sponsors let stale records lapse into UNKNOWN (not verified in 2 years) more often.
    unknown_p = 0.08 if sponsor_class == "INDUSTRY" else 0.24
    if rng.random() < unknown_p:
        return "UNKNOWN", rng.choice(["RECRUITING", "ACTIVE_NOT_RECRUITING", "NOT_YET_RECRUITING"])
    p_stop = 1 / (1 + math.exp(-risk))
    if rng.random() < p_stop:
        return weighted(rng, [("TERMINATED", 62), ("WITHDRAWN", 28), ("SUSPENDED", 10)]), None
    return "COMPLETED", None


def eligibility_text(rng: Random, condition: str, min_age: int, max_age: int | None) -> str:
    inclusion = [f"Diagnosis of {condition} confirmed by a physician",
                 f"Age {min_age} years or older" if max_age is None else f"Age {min_age} to {max_age} years",
                 "Able to give written informed consent",
                 rng.choice(["ECOG performance status 0-1", "BMI between 18.5 and 40 kg/m2",
                             "Stable medication for at least 4 weeks", "Adequate renal function (eGFR >= 45)"])]
    exclusion = ["Pregnant or breastfeeding",
                 rng.choice(["Participation in another interventional trial within 30 days",
                             "Known hypersensitivity to the study drug",
                             "Active infection requiring systemic therapy"]),
                 rng.choice(["Severe hepatic impairment", "History of substance abuse in the past year",
                             "Uncontrolled hypertension"])]
    return ("Inclusion Criteria:\n\n" + "\n".join(f"* {x}" for x in inclusion)
            + "\n\nExclusion Criteria:\n\n" + "\n".join(f"* {x}" for x in exclusion))


def std_ages(min_age: int, max_age: int | None) -> list[str]:
    hi = 200 if max_age is None else max_age
    out = []
    if min_age < 18:
        out.append("CHILD")
    if min_age <= 64 and hi >= 18:
        out.append("ADULT")
    if hi >= 65:
        out.append("OLDER_ADULT")
    return out


def make_study(rng: Random, index: int) -> dict:
    """One realistic study; its features are drawn first, then its status from a risk score."""
    span = (dt.date(2025, 3, 1) - dt.date(2008, 1, 1)).days
    # Registrations grow over the years; the max of two draws skews half the studies recent.
    offset = rng.randrange(span) if rng.random() < 0.5 else max(rng.randrange(span), rng.randrange(span))
    first_submit = dt.date(2008, 1, 1) + dt.timedelta(days=offset)
    # NCT numbers grow with registration date (about 400k a year since 2008), never colliding here.
    nct_number = 600000 + (first_submit.year - 2008) * 380000 + first_submit.timetuple().tm_yday * 1000 + index
    if index >= 1000:
        # Larger generated sets (the outcome-model tests ask for thousands): day * 1000 + index
        # would collide, so these take the unused block after day 366 of their year.
        if index >= 14000:
            raise ValueError("--studies above 14000 would give colliding NCT ids")
        nct_number = 600000 + (first_submit.year - 2008) * 380000 + 367000 + (index - 1000)
    nct_id = f"NCT{nct_number:08d}"

    category = rng.choice(list(CONDITIONS))
    # Expanded-access records (about 1% of the registry) have their own status values; the one
    # planted edge case covers them.
    study_type = weighted(rng, [("INTERVENTIONAL", 78), ("OBSERVATIONAL", 22)])
    phases = weighted(rng, PHASE_CHOICES) if study_type == "INTERVENTIONAL" else None
    sponsor, sponsor_class = rng.choices(SPONSORS, weights=SPONSOR_WEIGHTS, k=1)[0]
    industry = sponsor_class == "INDUSTRY"
    n_sites = (rng.randint(3, 30) if industry and phases and phases[-1] in ("PHASE2", "PHASE3") else
               rng.choice([1, 1, 1, 2, 3, 5]))
    top_phase = (phases or ["NA"])[-1]
    base_enrollment = {"EARLY_PHASE1": 20, "PHASE1": 30, "PHASE2": 120, "PHASE3": 450,
                       "PHASE4": 200, "NA": 90}[top_phase]
    planned_enrollment = max(6, int(rng.lognormvariate(math.log(base_enrollment), 0.6)))
    duration_months = {"EARLY_PHASE1": 14, "PHASE1": 18, "PHASE2": 30, "PHASE3": 42,
                       "PHASE4": 24, "NA": 20}[top_phase] + rng.randint(-6, 12)

    # Outcome signal for issue 9: early phase, small planned size, one site, academic sponsor,
    # no data monitoring committee -> more likely stopped early.
    has_dmc = rng.random() < (0.7 if top_phase in ("PHASE2", "PHASE3") else 0.3)
    risk = (-2.3 + {"EARLY_PHASE1": 0.8, "PHASE1": 0.6, "PHASE2": 0.5, "PHASE3": 0.1}.get(top_phase, 0.0)
            + (0.7 if planned_enrollment < 40 else 0.0) + (0.5 if n_sites == 1 else -0.2)
            + (0.0 if industry else 0.4) + (0.0 if has_dmc else 0.3) + rng.gauss(0, 0.4))

    start = add_months(first_submit, rng.randint(-2, 5))
    planned_primary = add_months(start, duration_months - rng.randint(0, 6))
    planned_completion = add_months(start, duration_months)
    status, last_known = pick_status(rng, start, planned_completion, risk, sponsor_class)
    # Registry practice: older records carry month precision, newer ones days.
    precision = "month" if first_submit.year < 2017 and rng.random() < 0.8 else "day"

    start_actual = start <= DATA_DATE and status not in ("WITHDRAWN", "NOT_YET_RECRUITING")
    enrollment_actual = status in ("COMPLETED", "TERMINATED", "WITHDRAWN", "ACTIVE_NOT_RECRUITING")
    if status == "COMPLETED":
        completion, primary, done = planned_completion, planned_primary, True
        enrollment = max(1, int(planned_enrollment * rng.uniform(0.85, 1.1)))
    elif status in ("TERMINATED", "SUSPENDED"):
        frac = rng.uniform(0.1, 0.7)
        stop = add_months(start, max(1, int(duration_months * frac)))
        stop = min(stop, DATA_DATE)
        completion, primary, done = (stop, stop, True) if status == "TERMINATED" else (planned_completion, planned_primary, False)
        enrollment = max(0, int(planned_enrollment * frac * rng.uniform(0.3, 1.0)))
        if status == "SUSPENDED":
            enrollment = planned_enrollment
    elif status == "WITHDRAWN":
        completion, primary, done, enrollment = planned_completion, planned_primary, False, 0
    else:
        completion, primary, done, enrollment = planned_completion, planned_primary, False, planned_enrollment
        if status == "ACTIVE_NOT_RECRUITING":
            enrollment = max(1, int(planned_enrollment * rng.uniform(0.7, 1.05)))
    done = done and completion <= DATA_DATE

    last_update = min(DATA_DATE, max(first_submit, completion if done else first_submit)
                      + dt.timedelta(days=rng.randint(10, 400)))
    # Studies touched recently dominate the registry's update feed; spread some into 2025.
    if rng.random() < 0.3:
        last_update = DATA_DATE - dt.timedelta(days=rng.randint(1, 150))
    last_update = max(last_update, first_submit)
    verified = last_update if status != "UNKNOWN" else add_months(first_submit, rng.randint(6, 30))

    cond_pool = CONDITIONS[category]
    chosen = rng.sample(cond_pool, k=min(len(cond_pool), weighted(rng, [(1, 70), (2, 25), (3, 5)])))
    condition_names = [rng.choice(variants) for variants, _, _ in chosen]
    intr_pool = INTERVENTIONS[category]
    n_intr = 0 if study_type == "OBSERVATIONAL" else weighted(rng, [(1, 60), (2, 30), (3, 10)])
    interventions = rng.sample(intr_pool, k=min(n_intr, len(intr_pool)))
    if study_type == "INTERVENTIONAL" and top_phase in ("PHASE2", "PHASE3") and rng.random() < 0.5:
        interventions.append(PLACEBO)
    if study_type == "OBSERVATIONAL" and rng.random() < 0.5:
        interventions = [("OTHER", "No intervention (observational cohort)", [], None, None)]

    min_age = rng.choice([18, 18, 18, 18, 40, 50, 6, 12, 0])
    max_age = rng.choice([None, None, 65, 75, 80, 17 if min_age < 18 else 85])
    if max_age is not None and max_age < min_age:
        max_age = None
    sex = weighted(rng, [("ALL", 85), ("FEMALE", 10), ("MALE", 5)])
    if chosen[0][1] in ("D001943",):
        sex = "FEMALE"
    if chosen[0][1] in ("D011471",):
        sex = "MALE"

    short_cond = condition_names[0]
    verb = rng.choice(["Safety and Efficacy of", "A Study of", "Evaluating", "Effect of", "Pilot Trial of"])
    main_intr = interventions[0][1] if interventions and interventions[0] is not PLACEBO else "Standard Care"
    brief_title = (f"{verb} {main_intr} in Participants With {short_cond}" if study_type != "OBSERVATIONAL"
                   else f"{rng.choice(['Registry', 'Cohort Study', 'Natural History'])} of {short_cond}")
    official_title = (f"A {'Randomized, Double-blind' if planned_enrollment > 60 else 'Single-arm, Open-label'} "
                      f"Study to Evaluate {main_intr} in Adults With {short_cond}" if study_type != "OBSERVATIONAL"
                      else f"A Prospective Observational Study of Adults With {short_cond}")

    ident = {
        "nctId": nct_id,
        "orgStudyIdInfo": {"id": f"{sponsor.split()[0].upper()[:6]}-{first_submit.year}-{index:03d}"},
        "organization": {"fullName": sponsor, "class": sponsor_class},
        "briefTitle": brief_title,
        "officialTitle": official_title,
    }
    if rng.random() < 0.3:
        ident["acronym"] = "".join(w[0] for w in brief_title.split()[:4]).upper()

    status_module = {
        "statusVerifiedDate": fmt(verified, "month"),
        "overallStatus": status,
        "expandedAccessInfo": {"hasExpandedAccess": study_type == "EXPANDED_ACCESS"},
        "startDateStruct": date_struct(start, precision, start_actual),
        "primaryCompletionDateStruct": date_struct(primary, precision, done),
        "completionDateStruct": date_struct(completion, precision, done),
        "studyFirstSubmitDate": fmt(first_submit, "day"),
        "studyFirstSubmitQcDate": fmt(first_submit + dt.timedelta(days=rng.randint(0, 20)), "day"),
        "studyFirstPostDateStruct": {"date": fmt(first_submit + dt.timedelta(days=rng.randint(1, 25)), "day"),
                                     "type": "ACTUAL" if first_submit.year >= 2017 else "ESTIMATED"},
        "lastUpdateSubmitDate": fmt(last_update - dt.timedelta(days=rng.randint(1, 5)), "day"),
        "lastUpdatePostDateStruct": {"date": fmt(last_update, "day"), "type": "ACTUAL"},
    }
    if last_known:
        status_module["lastKnownStatus"] = last_known
    if status in WHY_STOPPED:
        status_module["whyStopped"] = rng.choice(WHY_STOPPED[status])

    sponsor_module = {"responsibleParty": {"type": "SPONSOR" if industry else "PRINCIPAL_INVESTIGATOR"},
                      "leadSponsor": {"name": sponsor, "class": sponsor_class}}
    if rng.random() < 0.35:
        collab = rng.choices(SPONSORS, weights=SPONSOR_WEIGHTS, k=rng.randint(1, 2))
        sponsor_module["collaborators"] = [{"name": n, "class": c} for n, c in collab if n != sponsor]

    design = {"studyType": study_type}
    if phases:
        design["phases"] = list(phases)
    if study_type == "INTERVENTIONAL":
        arms = 1 if planned_enrollment <= 60 and rng.random() < 0.6 else rng.choice([2, 2, 3])
        design["designInfo"] = {
            "allocation": "NA" if arms == 1 else "RANDOMIZED",
            "interventionModel": "SINGLE_GROUP" if arms == 1 else rng.choice(["PARALLEL", "PARALLEL", "CROSSOVER"]),
            "primaryPurpose": rng.choice(PURPOSES),
            "maskingInfo": {"masking": "NONE" if arms == 1 else rng.choice(["DOUBLE", "QUADRUPLE", "SINGLE", "NONE"])},
        }
    elif study_type == "OBSERVATIONAL":
        design["designInfo"] = {"observationalModel": rng.choice(["COHORT", "CASE_CONTROL", "CASE_ONLY"]),
                                "timePerspective": rng.choice(["PROSPECTIVE", "RETROSPECTIVE", "CROSS_SECTIONAL"])}
        design["patientRegistry"] = rng.random() < 0.3
    if study_type != "EXPANDED_ACCESS":
        design["enrollmentInfo"] = {"count": enrollment, "type": "ACTUAL" if enrollment_actual else "ESTIMATED"}

    protocol = {
        "identificationModule": ident,
        "statusModule": status_module,
        "sponsorCollaboratorsModule": sponsor_module,
        "oversightModule": {"oversightHasDmc": has_dmc, "isFdaRegulatedDrug": industry and rng.random() < 0.7},
        "descriptionModule": {
            "briefSummary": (f"The purpose of this study is to evaluate {main_intr.lower()} in people with "
                             f"{short_cond.lower()}. Participants will be followed for "
                             f"{duration_months} months."),
        },
        "conditionsModule": {"conditions": condition_names,
                             "keywords": rng.sample([short_cond.lower(), category, main_intr.lower(), "quality of life"], k=2)},
        "designModule": design,
    }
    if interventions:
        arm_labels = [f"{i[1]} arm" for i in interventions]
        protocol["armsInterventionsModule"] = {
            "armGroups": [{"label": label, "type": "PLACEBO_COMPARATOR" if "Placebo" in label else "EXPERIMENTAL",
                           "interventionNames": [f"{i[0].title().replace('_', ' ')}: {i[1]}"]}
                          for label, i in zip(arm_labels, interventions)],
            "interventions": [{"type": t, "name": n, "description": f"{n} as specified in the protocol.",
                               "armGroupLabels": [label], **({"otherNames": list(o)} if o else {})}
                              for (t, n, o, _, _), label in zip(interventions, arm_labels)],
        }
    protocol["eligibilityModule"] = {
        "eligibilityCriteria": eligibility_text(rng, short_cond, min_age, max_age),
        "healthyVolunteers": study_type == "INTERVENTIONAL" and top_phase == "PHASE1" and rng.random() < 0.5,
        "sex": sex,
        "minimumAge": f"{min_age} Years" if min_age else "6 Months",
        "stdAges": std_ages(min_age, max_age),
    }
    if max_age is not None:
        protocol["eligibilityModule"]["maximumAge"] = f"{max_age} Years"
    sites = rng.sample(FACILITIES, k=min(n_sites, len(FACILITIES)))
    locations = []
    for fac, city, state, zipc, country, lat, lon in sites:
        loc = {"facility": fac, "city": city, "country": country, "geoPoint": {"lat": lat, "lon": lon}}
        if status in ("RECRUITING", "NOT_YET_RECRUITING", "ENROLLING_BY_INVITATION"):
            loc["status"] = status
        if state:
            loc["state"] = state
        if zipc:
            loc["zip"] = zipc
        locations.append(loc)
    protocol["contactsLocationsModule"] = {
        "overallOfficials": [{"name": f"Study Director {index:03d}", "affiliation": sponsor,
                              "role": "STUDY_DIRECTOR" if industry else "PRINCIPAL_INVESTIGATOR"}],
        "locations": locations,
    }

    derived = {"miscInfoModule": {"versionHolder": f"{DATA_DATE:%Y-%m-%d}"}}
    derived["conditionBrowseModule"] = {
        "meshes": [{"id": mid, "term": term} for _, mid, term in chosen],
        "browseLeaves": [{"id": f"M{int(mid[1:]) % 100000}", "name": term, "relevance": "HIGH"} for _, mid, term in chosen],
        "browseBranches": [{"abbrev": "All", "name": "All Conditions"}],
    }
    meshed = [i for i in interventions if i[3]]
    if meshed:
        derived["interventionBrowseModule"] = {
            "meshes": [{"id": i[3], "term": i[4]} for i in meshed],
            "browseLeaves": [{"id": f"M{int(i[3][1:]) % 100000}", "name": i[4], "relevance": "HIGH"} for i in meshed],
        }
    has_results = (status in ("COMPLETED", "TERMINATED") and study_type == "INTERVENTIONAL"
                   and top_phase != "NA" and rng.random() < (0.7 if industry else 0.3))
    return {"protocolSection": protocol, "derivedSection": derived, "hasResults": has_results}


def nct(study: dict) -> str:
    return study["protocolSection"]["identificationModule"].get("nctId")


def plant_edge_cases(rng: Random, studies: list[dict]) -> tuple[list[dict], dict]:
    """Overwrite chosen studies with the edge cases the pipeline must handle; return the final
    ordered list and {case: [nct ids]}."""
    cases: dict[str, list] = {}

    def mark(case: str, study: dict):
        cases.setdefault(case, []).append(nct(study))

    used: set[int] = {0}

    def pick(want=lambda study: True) -> dict:
        """The next unused study (in generation order) that has what the case needs to alter."""
        for i, study in enumerate(studies):
            if i not in used and want(study):
                used.add(i)
                return study
        raise ValueError("not enough studies to plant every edge case")

    interventional = lambda st: "armsInterventionsModule" in st["protocolSection"]  # noqa: E731

    s = pick()
    s["protocolSection"]["statusModule"]["startDateStruct"] = {"date": "2015", "type": "ACTUAL"}
    mark("start_date_year_precision", s)
    s = pick()
    s["protocolSection"]["statusModule"]["startDateStruct"]["date"] = "2016-03"
    s["protocolSection"]["statusModule"]["completionDateStruct"]["date"] = "2019-11-14"
    mark("mixed_date_precision", s)

    s = pick(interventional)
    del s["protocolSection"]["armsInterventionsModule"]
    del s["protocolSection"]["contactsLocationsModule"]
    s["derivedSection"].pop("interventionBrowseModule", None)
    mark("missing_arms_and_locations_modules", s)
    s = pick()
    del s["derivedSection"]
    mark("missing_derived_section", s)
    s = pick()
    del s["protocolSection"]["eligibilityModule"]
    s["protocolSection"]["designModule"].pop("enrollmentInfo", None)
    mark("missing_eligibility_and_enrollment", s)

    s = pick()
    ident = s["protocolSection"]["identificationModule"]
    ident["briefTitle"] = "  Safety &amp; Efficacy of   Metformin\tin Type 2 Diabetes &#8212; a **Phase 2** Study  "
    ident["officialTitle"] = "A Randomized Study of Metformin&nbsp;ER vs. Placebo (\\[NCT Registry\\]) \n\n in Adults"
    s["protocolSection"]["descriptionModule"]["briefSummary"] = (
        "## Background\n\nThis study tests **metformin** in adults &lt;65 years.\n\n"
        "* Visit 1: screening\n* Visit 2: randomization\n\nSee [the protocol](https://example.org/protocol).")
    s["protocolSection"]["sponsorCollaboratorsModule"]["leadSponsor"]["name"] = "Merck Sharp &amp; Dohme LLC"
    s["protocolSection"]["conditionsModule"]["conditions"] = ["Crohn&#39;s   Disease", "  Type 2 Diabetes\n"]
    mark("html_entities_markdown_whitespace", s)

    s = pick()
    s["protocolSection"]["identificationModule"]["nctId"] = "NCT1234X"
    cases["invalid_nct_id"] = ["NCT1234X"]
    s = pick()
    s["protocolSection"]["statusModule"]["overallStatus"] = "PAUSED_FOR_REVIEW"
    mark("unknown_status", s)
    s = pick()
    sm = s["protocolSection"]["statusModule"]
    sm["overallStatus"] = "COMPLETED"
    sm["startDateStruct"] = {"date": "2020-09-15", "type": "ACTUAL"}
    sm["completionDateStruct"] = {"date": "2019-02-01", "type": "ACTUAL"}
    sm["primaryCompletionDateStruct"] = {"date": "2019-01-10", "type": "ACTUAL"}
    mark("start_after_completion_actual", s)
    s = pick()
    sm = s["protocolSection"]["statusModule"]
    sm["startDateStruct"] = {"date": "2026-03", "type": "ESTIMATED"}
    sm["completionDateStruct"] = {"date": "2025-12", "type": "ESTIMATED"}
    mark("start_after_completion_estimated_allowed", s)

    s = pick()
    s["derivedSection"]["conditionBrowseModule"]["meshes"] = [
        {"id": "d003924", "term": "Diabetes Mellitus, Type 2"},
        {"id": " D001943 ", "term": "Breast Neoplasms"},
        {"id": "MESH:D006973", "term": "Hypertension"},
        {"id": "Q12-345", "term": "Not A Mesh Id"}]
    s["derivedSection"]["interventionBrowseModule"] = {"meshes": [{"id": "mesh:c582435", "term": "pembrolizumab"}]}
    mark("mesh_ids_odd_forms", s)

    s = pick()
    s["protocolSection"]["identificationModule"]["legacyTrackingCode"] = "LTC-0042"
    s["experimentalSection"] = {"note": "field not in /studies/metadata"}
    mark("unknown_extra_fields", s)

    s = pick()
    del s["protocolSection"]["identificationModule"]["nctId"]
    no_id = s

    s = pick()
    s["protocolSection"]["designModule"]["enrollmentInfo"] = {"count": -5, "type": "ACTUAL"}
    mark("negative_enrollment", s)
    s = pick()
    s["protocolSection"]["designModule"]["studyType"] = "INTERVENTIONAL"
    s["protocolSection"]["designModule"]["phases"] = ["PHASE5"]
    mark("unknown_phase", s)
    s = pick()
    s["protocolSection"]["conditionsModule"]["conditions"] = ["   ", s["protocolSection"]["conditionsModule"]["conditions"][0]]
    mark("blank_condition_name", s)
    s = pick()
    s["protocolSection"]["statusModule"]["overallStatus"] = " recruiting "
    mark("status_case_and_whitespace", s)
    s = pick()
    s["protocolSection"]["designModule"]["studyType"] = "EXPANDED_ACCESS"
    s["protocolSection"]["designModule"].pop("phases", None)
    s["protocolSection"]["designModule"].pop("enrollmentInfo", None)
    s["protocolSection"]["statusModule"]["overallStatus"] = "AVAILABLE"
    mark("expanded_access", s)

    # Duplicates: an older version of two studies is served early, the newer one late, so they
    # land on different pages; the older copies must lose to the newer ones.
    older = []
    for _ in range(2):
        s = pick()
        old = json.loads(json.dumps(s))
        osm = old["protocolSection"]["statusModule"]
        new_date = dt.date.fromisoformat(s["protocolSection"]["statusModule"]["lastUpdatePostDateStruct"]["date"])
        osm["lastUpdatePostDateStruct"] = {"date": fmt(new_date - dt.timedelta(days=200), "day"), "type": "ACTUAL"}
        osm["overallStatus"] = "RECRUITING"
        old["protocolSection"]["identificationModule"]["briefTitle"] += " (original registration)"
        older.append(old)
        mark("duplicate_nct_older_version_first", s)

    ordered = [studies[0]] + older + studies[1:]
    cases["missing_nct_id_position"] = [next(i for i, st in enumerate(ordered) if st is no_id)]
    return ordered, cases


def metadata_tree(studies: list[dict], unknown: set[str]) -> list[dict]:
    """A `/studies/metadata`-shaped tree of every field path the studies use, minus `unknown`.

    Nodes carry name, piece (PascalCase, as in the `fields` parameter), sourceType STRUCT for
    branches, type (with [] for lists) and `rules: "Required"` on the fields the registry
    requires, which schema_check reports when absent.
    """
    required = {"protocolSection.identificationModule.nctId", "protocolSection.identificationModule.briefTitle",
                "protocolSection.statusModule.overallStatus", "protocolSection.designModule.studyType",
                "protocolSection.sponsorCollaboratorsModule.leadSponsor.name",
                "protocolSection.statusModule.lastUpdatePostDateStruct.date"}
    tree: dict = {}

    def walk(value, node: dict, path: str):
        if isinstance(value, dict):
            node.setdefault("_children", {})
            for key, child in value.items():
                child_path = f"{path}.{key}" if path else key
                if child_path in unknown:
                    continue
                kid = node["_children"].setdefault(key, {})
                walk(child, kid, child_path)
                kid.setdefault("_types", set()).add(type_name(child))
        elif isinstance(value, list):
            node["_list"] = True
            for item in value:
                walk(item, node, path)
        node["_path"] = path

    def type_name(v):
        if isinstance(v, bool):
            return "boolean"
        if isinstance(v, (int, float)):
            return "numeric"
        if isinstance(v, list):
            return type_name(v[0]) + "[]" if v else "text[]"
        if isinstance(v, dict):
            return "STRUCT"
        return "text"

    for study in studies:
        walk(study, tree, "")

    def emit(name: str, node: dict) -> dict:
        types = sorted(node.get("_types", {"text"}))
        out = {"name": name, "piece": name[0].upper() + name[1:], "title": name}
        kids = node.get("_children")
        if kids:
            out["sourceType"] = "STRUCT"
            out["type"] = name[0].upper() + name[1:] + ("[]" if node.get("_list") else "")
            out["children"] = [emit(k, kids[k]) for k in sorted(kids)]
        else:
            out["sourceType"] = {"boolean": "BOOLEAN", "numeric": "NUMERIC"}.get(types[0].rstrip("[]"), "TEXT")
            out["type"] = types[0]
        if node.get("_path") in required:
            out["rules"] = "Required"
        return out

    return [emit(k, tree["_children"][k]) for k in sorted(tree["_children"])]


def generate(n_studies: int, seed: int) -> tuple[list[dict], list[dict], dict]:
    if n_studies < 40:
        raise ValueError("--studies must be at least 40 so every edge case has a study")
    rng = Random(seed)
    studies = [make_study(rng, i) for i in range(n_studies)]
    ordered, cases = plant_edge_cases(rng, studies)
    unknown = {"protocolSection.identificationModule.legacyTrackingCode", "experimentalSection"}
    metadata = metadata_tree(ordered, unknown)
    statuses: dict[str, int] = {}
    for s in ordered:
        st = s["protocolSection"]["statusModule"]["overallStatus"]
        statuses[st] = statuses.get(st, 0) + 1
    cases["_summary"] = {"studies": len(ordered), "seed": seed, "api_version": API_VERSION,
                         "data_date": DATA_DATE.isoformat(), "statuses": dict(sorted(statuses.items()))}
    return ordered, metadata, cases


def write(out: Path, studies, metadata, cases) -> None:
    out.mkdir(parents=True, exist_ok=True)
    # One study per line: small diffs when the generator changes, still a plain JSON list.
    body = "[\n" + ",\n".join(json.dumps(s, ensure_ascii=False, separators=(",", ":")) for s in studies) + "\n]\n"
    (out / "studies.json").write_text(body, encoding="utf-8")
    (out / "metadata.json").write_text(json.dumps(metadata, indent=1) + "\n", encoding="utf-8")
    (out / "edge_cases.json").write_text(json.dumps(cases, indent=1, sort_keys=True) + "\n", encoding="utf-8")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True, type=Path, help="output folder (created)")
    parser.add_argument("--studies", type=int, default=200, help="number of distinct studies (>= 40)")
    parser.add_argument("--seed", type=int, default=8, help="RNG seed; same seed, same bytes")
    args = parser.parse_args(argv)
    try:
        studies, metadata, cases = generate(args.studies, args.seed)
    except ValueError as exc:
        print(f"make_ctgov_fixtures: {exc}", file=sys.stderr)
        return 2
    write(args.out, studies, metadata, cases)
    print(f"wrote {len(studies)} studies ({cases['_summary']['statuses']}) to {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
