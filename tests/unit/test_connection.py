"""PostgreSQL target resolution: libpq variables override conf, the password never leaks."""
import dataclasses

from lakeprep.config import load_settings
from lakeprep.db.connection import resolve_target

PG = dataclasses.replace(load_settings().postgres, host="db.internal", port=5432)


def test_libpq_variables_override_conf():
    t = resolve_target(PG, env={"PGHOST": "h2", "PGPORT": "6543", "PGDATABASE": "d2",
                                "PGUSER": "u2", "PGPASSWORD": "s3cret"})
    assert (t.host, t.port, t.database, t.user, t.password) == ("h2", 6543, "d2", "u2", "s3cret")
    assert not t.embedded


def test_conf_used_when_no_variables():
    t = resolve_target(PG, env={})
    assert (t.host, t.port, t.database, t.user, t.password) == \
        ("db.internal", 5432, PG.database, PG.user, None)


def test_password_never_in_descriptions_urls_or_repr():
    t = resolve_target(PG, env={"PGPASSWORD": "s3cret-value"})
    assert t.jdbc_properties()["password"] == "s3cret-value"  # handed to the driver only
    for text in (repr(t), str(t), t.describe(), t.jdbc_url(), repr(t.engine().url),
                 str(t.engine().url)):
        assert "s3cret-value" not in text
