"""The staging write's COPY writer (io.lakeprep.pg.CopyWriter via lakeprep.db.load.write_rows)
against a real PostgreSQL: every value it writes reads back as what Spark's INSERT writer stores
and as the values themselves, including COPY's special characters, text[] quoting, NULLs,
non-finite doubles and timestamps before 1970."""
from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import math
from decimal import Decimal

import psycopg2
import pytest
from pyspark.errors import IllegalArgumentException
from pyspark.sql import types as T

from lakeprep.bench import job
from lakeprep.db import load
from lakeprep.db.connection import PgTarget

SCHEMA = T.StructType([
    T.StructField("id", T.IntegerType(), False),
    T.StructField("txt", T.StringType(), True),
    T.StructField("big", T.LongType(), True),
    T.StructField("small", T.ShortType(), True),
    T.StructField("dbl", T.DoubleType(), True),
    T.StructField("flt", T.FloatType(), True),
    T.StructField("flag", T.BooleanType(), True),
    T.StructField("dec", T.DecimalType(12, 4), True),
    T.StructField("ts", T.TimestampType(), True),
    T.StructField("ntz", T.TimestampNTZType(), True),
    T.StructField("day", T.DateType(), True),
    T.StructField("tags", T.ArrayType(T.StringType()), True),
])
DDL = ("CREATE TABLE {t} (id int PRIMARY KEY, txt text, big bigint, small smallint, "
       "dbl double precision, flt real, flag boolean, dec numeric(12, 4), ts timestamptz, "
       "ntz timestamp, day date, tags text[])")
UTC = dt.timezone.utc
ROWS = [
    # COPY's four special bytes, a would-be end-of-data marker, quotes and non-ASCII text.
    (1, "tab\there\nnew line\r\\back\\slash\\.\n\\.", 2**62, -32768, 1.0e-300, 1.5, True,
     Decimal("12345678.1234"), dt.datetime(2026, 12, 7, 8, 30, 1, 123456, tzinfo=UTC),
     dt.datetime(2026, 1, 2, 3, 4, 5, 6), dt.date(1999, 12, 31),
     ['a"b', "c\\d", "e,f", "{g}", None, "", "tab\there", "NULL", "é 中文 🙂"]),
    # NULL in every nullable column.
    (2, None, None, None, None, None, None, None, None, None, None, None),
    # Empty string (not NULL), an empty array, non-finite doubles, a pre-1970 instant with
    # microseconds (floor division of negative micros).
    (3, "", -1, 0, math.inf, -math.inf, False, Decimal("-0.0001"),
     dt.datetime(1969, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
     dt.datetime(1900, 1, 1, 0, 0, 0, 1), dt.date(1900, 1, 1), []),
    (4, "x" * 200_000, 0, 1, math.nan, math.nan, True, Decimal("0"),
     dt.datetime(1970, 1, 1, tzinfo=UTC), None, dt.date(2000, 2, 29), [None]),
]


@pytest.fixture(scope="module")
def db(pg_server):
    return job.fresh_database(pg_server.params(), "copy_writer_test")


@pytest.fixture()
def frame(spark):
    # A UTC session is not assumed: ts values are instants, written with their offset.
    return spark.createDataFrame(ROWS, SCHEMA).repartition(3)


def _target(db) -> PgTarget:
    return PgTarget(db["host"], int(db["port"]), db["dbname"], db["user"], "public", False)


def _fresh(db, table: str) -> None:
    with psycopg2.connect(**db) as conn, conn.cursor() as cur:
        cur.execute(f"DROP TABLE IF EXISTS {table}")
        cur.execute(DDL.format(t=table))
    conn.close()


def _read(db, table: str) -> list[tuple]:
    with psycopg2.connect(**db) as conn, conn.cursor() as cur:
        cur.execute("SET TIME ZONE 'UTC'")
        cur.execute(f"SELECT * FROM {table} ORDER BY id")
        rows = cur.fetchall()
    conn.close()
    return rows


def _same(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return a == b


def test_copy_rows_read_back_as_written_and_as_the_insert_writer_stores_them(spark, settings,
                                                                             db, frame):
    jdbc = settings.postgres.jdbc
    assert jdbc.writer == "copy"  # the job's default (conf/local.yaml)
    _fresh(db, "via_copy")
    _fresh(db, "via_insert")
    assert load.write_rows(frame, _target(db), "via_copy", jdbc) == len(ROWS)
    assert load.write_rows(frame, _target(db), "via_insert",
                           dataclasses.replace(jdbc, writer="insert")) is None
    copied, inserted = _read(db, "via_copy"), _read(db, "via_insert")
    assert len(copied) == len(inserted) == len(ROWS)
    for got, other, want in zip(copied, inserted, ROWS):
        assert all(_same(g, o) for g, o in zip(got, other)), (got, other)
        assert all(_same(g, w) for g, w in zip(got, want)), (got, want)


def test_copy_writer_missing_from_the_classpath_falls_back_to_inserts(spark, settings, db, frame,
                                                                      monkeypatch, caplog):
    _fresh(db, "fallback")
    monkeypatch.setattr(load, "COPY_WRITER", "io.lakeprep.pg.NoSuchWriter")
    with caplog.at_level(logging.WARNING, logger="lakeprep.db"):
        assert load.write_rows(frame, _target(db), "fallback", settings.postgres.jdbc) is None
    assert "not on the classpath" in caplog.text
    assert [r[0] for r in _read(db, "fallback")] == [1, 2, 3, 4]


def test_a_column_type_without_a_text_form_fails_before_any_row_is_sent(spark, settings, db):
    with psycopg2.connect(**db) as conn, conn.cursor() as cur:
        cur.execute("DROP TABLE IF EXISTS unsupported")
        cur.execute("CREATE TABLE unsupported (id int, m text)")
    conn.close()
    df = spark.createDataFrame([(1, {"k": "v"})], "id int, m map<string,string>")
    with pytest.raises(IllegalArgumentException, match="column m has type map<string,string>"):
        load.write_rows(df, _target(db), "unsupported", settings.postgres.jdbc)
    with psycopg2.connect(**db) as conn, conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM unsupported")
        assert cur.fetchone() == (0,)
    conn.close()
