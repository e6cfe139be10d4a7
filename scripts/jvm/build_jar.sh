#!/usr/bin/env bash
# Compile the project's own JVM classes (scripts/jvm/src: the PostgreSQL COPY writer of
# lakeprep/db/load.py) into one jar, against the Spark and PostgreSQL JDBC jars they run with.
#
# Usage: scripts/jvm/build_jar.sh CLASSPATH OUT_JAR
#   CLASSPATH  javac class path holding Spark's and the PostgreSQL driver's jars, e.g.
#              "<pyspark>/jars/*:.cache/jars/*" (scripts/setup_jars.sh) or
#              "/spark-jars/*:/jars/*" (the Dockerfile)
#   OUT_JAR    the jar to write (replaced only when the build succeeds)
# Needs a JDK 17+ (javac, jar). Used by scripts/setup_jars.sh and the Dockerfile.
set -euo pipefail

[[ $# -eq 2 ]] || { echo "usage: $0 CLASSPATH OUT_JAR" >&2; exit 2; }
classpath="$1"
out_jar="$2"
src_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/src"

command -v javac >/dev/null 2>&1 && command -v jar >/dev/null 2>&1 \
  || { echo "build_jar: javac and jar (a JDK 17+) are needed on PATH" >&2; exit 1; }

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mapfile -t sources < <(find "$src_dir" -name '*.java' | LC_ALL=C sort)
(( ${#sources[@]} > 0 )) || { echo "build_jar: no sources under $src_dir" >&2; exit 1; }
# --release 17: the bytecode runs on the Java 17 that Spark 4.1 images and EMR ship.
# -Xlint:-path: some of Spark's jars name Class-Path entries that do not exist (harmless).
javac --release 17 -Xlint:all -Xlint:-path -Werror -encoding UTF-8 \
  -cp "$classpath" -d "$work/classes" "${sources[@]}"
mkdir -p "$(dirname "$out_jar")"
jar --create --file "$work/out.jar" -C "$work/classes" .
mv -f "$work/out.jar" "$out_jar"
echo "build_jar: wrote $out_jar (${#sources[@]} source file(s))"
