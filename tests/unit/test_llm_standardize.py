"""Condition standardization without Spark: normalization rules, the offline decision, answer
validation, and the chat-completions client against the local server (lakeprep.trials.chat_server)
with its faults: HTTP 429 / 500 / 401, slow answers past the timeout, invalid JSON."""
from __future__ import annotations

import dataclasses
import json
import logging

import pytest

from lakeprep.config import ConfigError, load_settings, parse_settings
from lakeprep.trials import standardize as S
from lakeprep.trials.chat_server import UNKNOWN_MESH_ID, ChatServer

KEY = "sk-unit-sentinel-7f3a"  # a fake key; the tests assert it never leaks


@pytest.fixture(scope="module")
def llm():
    """trials.standardize.llm with test-sized timeouts and no backoff waits."""
    base = load_settings().trials.standardize.llm
    return dataclasses.replace(base, requests_per_minute=60000, max_attempts=3, backoff_base_s=0,
                               backoff_max_s=0, read_timeout_s=1.0, connect_timeout_s=1.0,
                               batch_size=2)


@pytest.fixture
def server():
    with ChatServer(api_key=KEY) as srv:
        yield srv


def client_for(llm, server, sleeps=None):
    return S.ChatClient(llm, KEY, server.base_url,
                        sleep=(sleeps.append if sleeps is not None else lambda s: None))


# ---- normalization rules: each fails its test when removed ---------------------------------------

def test_normalize_name_is_case_space_and_entity_insensitive():
    assert S.normalize_name("  Crohn&#39;s   DISEASE\n") == "crohn's disease"
    assert S.normalize_name("Crohn\u2019s disease") == "crohn's disease"
    assert S.normalize_name("   ") is None and S.normalize_name(None) is None


@pytest.mark.parametrize("free_text, mesh_term", [
    ("Diabetes Mellitus, Type 2", "Type 2 Diabetes Mellitus"),      # inversion (word order)
    ("Crohn's Disease", "Crohn Disease"),                           # possessive
    ("Crohns Disease", "Crohn Disease"),                            # possessive without apostrophe
    ("Anxiety Disorder", "Anxiety Disorders"),                      # plural
    ("Breast Cancer", "Breast Neoplasms"),                          # cancer = neoplasm
    ("Non-small Cell Lung Cancer", "Carcinoma, Non-Small-Cell Lung"),  # cancer = carcinoma
    ("Type2 Diabetes Mellitus", "Diabetes Mellitus, Type 2"),       # letters glued to digits
    ("Type 2 Diabetes", "Diabetes Mellitus, Type 2"),               # diabetes = diabetes mellitus
    ("Cancer of the Prostate", "Prostate Cancer"),                  # stop words
])
def test_term_keys_meet(free_text, mesh_term):
    assert set(S.term_keys(free_text)) & set(S.term_keys(mesh_term))


def test_term_keys_keep_different_diseases_apart():
    assert not set(S.term_keys("Type 1 Diabetes")) & set(S.term_keys("Diabetes Mellitus, Type 2"))
    assert not set(S.term_keys("Diabetes Insipidus")) & set(S.term_keys("Diabetes Mellitus"))
    assert not set(S.term_keys("Lung Cancer")) & set(S.term_keys("Breast Neoplasms"))


# ---- the offline decision ------------------------------------------------------------------------

def test_offline_unique_term_match_wins():
    d = S.offline_decision("Breast Cancer", 3, [("D009369", "Neoplasms", 3)],
                           [("D001943", "Breast Neoplasms")], 0.6)
    assert d == S.Decision("Breast Neoplasms", "D001943", S.RULE_TERM)


def test_offline_ambiguous_term_match_prefers_the_studys_own_id():
    matches = [("D000001", "Foo Disease"), ("D000002", "Disease, Foo")]
    d = S.offline_decision("Foo Disease", 2, [("D000002", "Disease, Foo", 2)], matches, 0.6)
    assert d.mesh_id == "D000002" and d.rule == S.RULE_TERM
    # Neither derived for the name's studies: no term match; co-occurrence rule not met either.
    d = S.offline_decision("Foo Disease", 2, [], matches, 0.6)
    assert d.rule == S.RULE_NONE and d.mesh_id is None


def test_offline_cooccurrence_needs_the_share():
    cands = [("D003924", "Diabetes Mellitus, Type 2", 3), ("D009765", "Obesity", 1)]
    assert S.offline_decision("T2DM", 6, cands, [], 0.6).mesh_id is None       # 3/6 < 0.6
    assert S.offline_decision("T2DM", 5, cands, [], 0.6).mesh_id == "D003924"  # 3/5 = 0.6


def test_offline_cooccurrence_accepts_a_dominant_id():
    cands = [("D003924", "Diabetes Mellitus, Type 2", 3), ("D009765", "Obesity", 1)]
    d = S.offline_decision("T2DM", 3, cands, [], 0.6)
    assert d == S.Decision("Diabetes Mellitus, Type 2", "D003924", S.RULE_COOCCURRENCE)
    # A tie (one study listing two names and two terms) is not a decision.
    tie = [("D000001", "A", 1), ("D000002", "B", 1)]
    assert S.offline_decision("X", 1, tie, [], 0.6).rule == S.RULE_NONE
    assert S.offline_decision("  Healthy   Volunteers ", 1, [], [], 0.6) == \
        S.Decision("Healthy Volunteers", None, S.RULE_NONE)


# ---- validating an answer ------------------------------------------------------------------------

BATCH = [{"id": 0, "name": "T2DM", "candidates": [{"mesh_id": "D003924",
                                                    "term": "Diabetes Mellitus, Type 2"}]},
         {"id": 1, "name": "Healthy Volunteers", "candidates": []}]


def vocab(ids):
    known = {"D003924": "Diabetes Mellitus, Type 2", "D009765": "Obesity"}
    return {i: known[i] for i in ids if i in known}


def answer(*results):
    return json.dumps({"results": list(results)})


def test_parse_accepts_candidates_and_vocabulary_ids_with_the_mesh_heading():
    got = S.parse_answer(answer({"id": 0, "canonical_name": "type 2 diabetes", "mesh_id": "d003924"},
                                {"id": 1, "canonical_name": "Healthy Volunteers", "mesh_id": None}),
                         BATCH, vocab)
    assert got[0] == S.Answer("Diabetes Mellitus, Type 2", "D003924", None)
    assert got[1] == S.Answer("Healthy Volunteers", None, None)
    # Outside the candidates but in the registry's vocabulary: accepted, with its heading.
    got = S.parse_answer(answer({"id": 0, "canonical_name": "x", "mesh_id": "D009765"},
                                {"id": 1, "canonical_name": "HV", "mesh_id": None}), BATCH, vocab)
    assert got[0] == S.Answer("Obesity", "D009765", None)


@pytest.mark.parametrize("item, reason", [
    ({"id": 0, "canonical_name": "X", "mesh_id": UNKNOWN_MESH_ID}, "llm_mesh_id_not_in_vocabulary"),
    ({"id": 0, "canonical_name": "X", "mesh_id": "E11.9"}, "llm_invalid_mesh_id"),
    ({"id": 0, "canonical_name": "X", "mesh_id": 3924}, "llm_invalid_mesh_id"),
    ({"id": 0, "canonical_name": "", "mesh_id": None}, "llm_invalid_canonical_name"),
    ({"id": 0, "canonical_name": "x" * 201, "mesh_id": None}, "llm_invalid_canonical_name"),
    ({"id": 7, "canonical_name": "X", "mesh_id": None}, "llm_missing_answer"),
])
def test_parse_rejects_with_a_reason(item, reason):
    got = S.parse_answer(answer(item), BATCH, vocab)
    assert got[0].rejected == reason and got[0].mesh_id is None
    assert got[1].rejected == "llm_missing_answer"


@pytest.mark.parametrize("content", ["not json", "[1, 2]", '{"answers": []}', '{"results": {}}'])
def test_parse_rejects_a_malformed_answer_as_a_whole(content):
    with pytest.raises(S.LlmError) as err:
        S.parse_answer(content, BATCH, vocab)
    assert err.value.reason == "llm_invalid_json"


# ---- the client over HTTP ------------------------------------------------------------------------

def test_client_speaks_the_chat_completions_protocol(llm, server):
    client = client_for(llm, server)
    content = client.complete(S.build_messages(BATCH))
    assert json.loads(content)["results"][0]["mesh_id"] == "D003924"
    [req] = server.requests
    assert req["key_ok"] and req["model"] == "gpt-3.5-turbo"
    assert req["response_format"] == {"type": "json_object"}
    assert client.stats["requests"] == 1 and client.stats["prompt_tokens"] > 0


def test_client_retries_429_honouring_retry_after(llm, server):
    server.set_faults(["429:times=2,retry_after=0.01"])
    sleeps: list[float] = []
    client = client_for(llm, server, sleeps)
    client.complete(S.build_messages(BATCH))
    assert [r["fault"] for r in server.requests] == ["429", "429", None]
    assert client.stats["retries"] == 2 and sleeps.count(0.01) == 2


def test_client_gives_up_after_max_attempts(llm, server):
    server.set_faults(["500:times=-1"])
    with pytest.raises(S.LlmError) as err:
        client_for(llm, server).complete(S.build_messages(BATCH))
    assert err.value.reason == "llm_http_500" and err.value.retryable and not err.value.fatal
    assert len(server.requests) == llm.max_attempts


def test_client_fails_fast_on_an_overlong_retry_after(llm, server):
    server.set_faults(["429:times=-1,retry_after=3600"])
    with pytest.raises(S.LlmError, match="Retry-After"):
        client_for(llm, server).complete(S.build_messages(BATCH))
    assert len(server.requests) == 1


def test_client_times_out_and_retries(llm, server):
    server.set_faults(["slow:delay=2"])          # read_timeout_s is 1
    content = client_for(llm, server).complete(S.build_messages(BATCH))
    assert json.loads(content)["results"]
    assert [r["fault"] for r in server.requests] == ["slow", None]
    server.set_faults(["slow:delay=2,times=-1"])
    with pytest.raises(S.LlmError) as err:
        client_for(llm, server).complete(S.build_messages(BATCH))
    assert err.value.reason == "llm_timeout"


@pytest.mark.parametrize("fault, reason", [("invalid_json", "llm_invalid_json"),
                                           ("bad_body", "llm_bad_response")])
def test_client_asks_again_after_an_unparseable_answer(llm, server, fault, reason):
    server.set_faults([f"{fault}:times=1"])
    assert json.loads(client_for(llm, server).complete(S.build_messages(BATCH)))["results"]
    server.set_faults([f"{fault}:times=-1"])
    with pytest.raises(S.LlmError) as err:
        client_for(llm, server).complete(S.build_messages(BATCH))
    assert err.value.reason == reason


def test_client_wrong_key_is_fatal_at_once(llm, server):
    bad = S.ChatClient(llm, "sk-wrong", server.base_url, sleep=lambda s: None)
    with pytest.raises(S.LlmError) as err:
        bad.complete(S.build_messages(BATCH))
    assert err.value.reason == "llm_http_401" and err.value.fatal
    assert len(server.requests) == 1


def test_client_rate_limit_spaces_requests(llm, server):
    sleeps: list[float] = []
    client = S.ChatClient(dataclasses.replace(llm, requests_per_minute=60), KEY, server.base_url,
                          sleep=sleeps.append)
    client.complete(S.build_messages(BATCH))
    client.complete(S.build_messages(BATCH))
    assert len(sleeps) == 1 and 0.5 < sleeps[0] <= 1.0


# ---- batches, fallbacks, reasons -----------------------------------------------------------------

def items(n):
    return [{"normalized_name": f"name {i}", "raw_name": f"Name {i}",
             "candidates": [("D003924", "Diabetes Mellitus, Type 2", 2)],
             "off_name": f"Name {i}", "off_mesh_id": None, "off_rule": S.RULE_NONE}
            for i in range(n)]


def test_llm_answers_every_name_in_bounded_batches(llm, server):
    entries, run = S.standardize_with_llm(items(5), client_for(llm, server), 2, vocab)
    assert [len(r["names"]) for r in server.requests] == [2, 2, 1]
    assert run.accepted == 5 and all(e.method == "llm" and e.mesh_id == "D003924" for e in entries)
    assert {e.requested for e in entries} == {"llm:gpt-3.5-turbo"}


def test_rejected_answers_fall_back_offline_with_the_reason(llm, server):
    server.set_faults(["wrong_id:times=1", "missing:times=1"])
    entries, run = S.standardize_with_llm(items(4), client_for(llm, server), 2, vocab)
    by_name = {e.raw_name: e for e in entries}
    for n in ("Name 0", "Name 1"):
        e = by_name[n]
        assert (e.method, e.fallback_reason, e.retry_llm, e.mesh_id) == \
            ("offline", "llm_mesh_id_not_in_vocabulary", False, None)
    assert by_name["Name 2"].method == "llm"
    assert by_name["Name 3"].fallback_reason == "llm_missing_answer"
    assert run.fallbacks == {"llm_mesh_id_not_in_vocabulary": 2, "llm_missing_answer": 1}


def test_transport_failure_falls_back_and_is_asked_again_next_run(llm, server):
    server.set_faults(["500:times=3"])           # the first batch's three attempts
    entries, run = S.standardize_with_llm(items(4), client_for(llm, server), 2, vocab)
    first = [e for e in entries if e.raw_name in ("Name 0", "Name 1")]
    assert all(e.method == "offline" and e.retry_llm and e.fallback_reason == "llm_http_500"
               for e in first)
    assert run.accepted == 2


def test_a_fatal_error_stops_asking(llm, server):
    client = S.ChatClient(llm, "sk-wrong", server.base_url, sleep=lambda s: None)
    entries, run = S.standardize_with_llm(items(6), client, 2, vocab)
    assert len(server.requests) == 1 and run.stopped_early == "llm_http_401"
    assert all(e.method == "offline" and e.retry_llm for e in entries) and len(entries) == 6


# ---- the key -------------------------------------------------------------------------------------

def test_key_from_environment_then_dotenv(llm, tmp_path):
    (tmp_path / ".env").write_text("# local secrets\nexport OPENAI_API_KEY='sk-from-dotenv'\n")
    assert S.resolve_api_key(llm, {"LAKEPREP_LLM_API_KEY": "sk-env"}, tmp_path) == \
        ("sk-env", "$LAKEPREP_LLM_API_KEY")
    assert S.resolve_api_key(llm, {}, tmp_path) == ("sk-from-dotenv", ".env:OPENAI_API_KEY")
    assert S.resolve_api_key(llm, {"OPENAI_API_KEY": "  "}, tmp_path / "none") == (None, None)


def test_key_is_never_logged_or_shown(llm, server, caplog):
    caplog.set_level(logging.DEBUG)
    server.set_faults(["500:times=1", "429:times=1"])
    client = client_for(llm, server)
    S.standardize_with_llm(items(3), client, 2, vocab)
    bad = S.ChatClient(llm, KEY + "x", server.base_url, sleep=lambda s: None)
    entries, _ = S.standardize_with_llm(items(1), bad, 2, vocab)
    texts = caplog.text + repr(client) + repr(bad) + repr(entries)
    assert caplog.text and KEY not in texts


def test_settings_reject_a_bad_llm_section():
    raw = load_settings().source_path
    import yaml
    with open(raw) as fh:
        conf = yaml.safe_load(fh)
    conf["trials"]["standardize"]["llm"]["batch_size"] = 0
    with pytest.raises(ConfigError, match="batch_size"):
        parse_settings(conf)
    conf["trials"]["standardize"]["llm"]["batch_size"] = 25
    conf["trials"]["standardize"]["llm"]["api_key_env"] = ["lower-case"]
    with pytest.raises(ConfigError, match="api_key_env"):
        parse_settings(conf)
