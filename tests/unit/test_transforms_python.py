"""The per-document and per-chunk functions the Spark UDFs call, tested without Spark."""
import dataclasses
import json

from lakeprep.config import load_settings
from lakeprep.text.transforms import chunk_document, process_document

SETTINGS = load_settings()
PROSE = ("The harbour was quiet in the early morning, and the fishing boats rocked gently against "
         "the pier while gulls circled overhead looking for scraps from the night's catch. ") * 4
PII = " Write to jane.doe@example.com or call (415) 555-0132 about card 4111 1111 1111 1111."


def with_pii(**changes):
    return dataclasses.replace(SETTINGS, pii=dataclasses.replace(SETTINGS.pii, **changes))


def test_flag_mode_keeps_text_and_counts_pii():
    [chunk] = chunk_document("d", PROSE + PII, with_pii(redact=False))
    assert "jane.doe@example.com" in chunk["content"]
    assert json.loads(chunk["pii_counts"]) == {"credit_card": 1, "email": 1, "phone": 1}


def test_redaction_replaces_spans_before_tokenization():
    [chunk] = chunk_document("d", PROSE + PII, with_pii(redact=True))
    content = chunk["content"]
    assert "jane.doe@example.com" not in content and "4111" not in content
    assert "[EMAIL]" in content and "[PHONE]" in content and "[CREDIT_CARD]" in content
    assert json.loads(chunk["pii_counts"]) == {"credit_card": 1, "email": 1, "phone": 1}
    assert chunk["pii_types"] == ["credit_card", "email", "phone"]
    # Token count is that of the redacted text (the card number alone is several tokens).
    [plain] = chunk_document("d", PROSE + PII, with_pii(redact=False))
    assert chunk["token_count"] < plain["token_count"]


def test_redaction_counts_follow_chunk_boundaries():
    text = "\n\n".join([PROSE * 3 + " Mail a@example.org now."] + [PROSE * 3] * 3)
    chunks = chunk_document("d", text, with_pii(redact=True))
    assert len(chunks) > 1
    flagged = [json.loads(c["pii_counts"]) for c in chunks]
    assert flagged[0] == {"email": 1} and all(f == {} for f in flagged[1:])


def test_process_document_records_language_markup_and_warnings():
    html = ("<html><body><p>" + PROSE + "</p><p>" + PROSE.replace("harbour", "river")
            + "</p><div>Accept all cookies</div></body></html>").encode()
    out = process_document(html, "txt", None, SETTINGS)
    assert out["status"] == "accepted" and out["language"] == "en"
    removed = json.loads(out["boilerplate_removed"])
    assert removed["html_tags"] > 0
    assert "<p>" not in out["text"]


def test_language_allow_list_rejects_other_languages():
    french = ("Le port était calme tôt le matin, et les bateaux de pêche se balançaient doucement "
              "contre la jetée pendant que les mouettes tournaient au-dessus. ") * 5
    strict = dataclasses.replace(SETTINGS, language=dataclasses.replace(
        SETTINGS.language, allowed=("en",)))
    out = process_document(french.encode(), "txt", None, strict)
    assert out["language"] == "fr"
    assert out["status"] == "rejected" and out["reject_reason"] == "language_not_allowed"
    assert process_document(french.encode(), "txt", None, SETTINGS)["status"] == "accepted"
