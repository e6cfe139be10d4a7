#!/usr/bin/env bash
# Resolve the pipeline's JVM jars (scripts/jvm/pom.xml) into .cache/jars and install them into
# a venv's pyspark/jars, so `python` and `spark-submit` get Delta Lake and the PostgreSQL JDBC
# driver on the classpath with no spark.jars.packages and no download at session start.
#
# Usage: scripts/setup_jars.sh [VENV_DIR]       (default: .venv, relative to the repo root)
# Env:   FORCE=1      re-run Maven even if .cache/jars matches the pom
#        MVN=...      Maven executable (default: mvn)
#        MVN_FLAGS=.. extra Maven flags, e.g. "-o" or "-s mirror-settings.xml"
#
# Idempotent: a warm rerun skips Maven (the pom hash matches the cache stamp) and installs only
# jars whose bytes changed (hard-linked from .cache/jars when possible, so the ~640 MB AWS SDK
# bundle is neither copied again nor re-read on a warm run). Jars installed by an earlier run but no longer in the pom (e.g. after
# a version bump) are removed from pyspark/jars, using a manifest written there.
set -euo pipefail
export LC_ALL=C  # sort/comm below must agree on ordering

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"

venv_dir="${1:-.venv}"
pom="scripts/jvm/pom.xml"
cache_dir=".cache/jars"
stamp_file="$cache_dir/.pom.sha256"
# Hidden and not *.jar: Spark's launcher puts only jars/*.jar-style entries on the classpath.
manifest_name=".lakeprep-installed-jars.txt"
mvn_bin="${MVN:-mvn}"

die() { echo "setup_jars: ERROR: $*" >&2; exit 1; }
say() { echo "setup_jars: $*"; }

# Artifact name without version/classifier, e.g. jackson-databind-2.20.0.jar -> jackson-databind,
# netty-tcnative-boringssl-static-2.0.74.Final-linux-x86_64.jar -> netty-tcnative-boringssl-static.
artifact_of() { sed -E 's/-[0-9][^/]*\.jar$//'; }

[[ -f "$pom" ]] || die "$pom not found (run from a checkout of the repo)"
venv_python="$venv_dir/bin/python"
[[ -x "$venv_python" ]] || die "no python at $venv_python; create the venv first (python3 -m venv $venv_dir && $venv_dir/bin/pip install -r requirements.txt)"

pyspark_dir="$("$venv_python" -c 'import os, pyspark; print(os.path.dirname(pyspark.__file__))' 2>/dev/null)" \
  || die "pyspark is not importable with $venv_python; pip install -r requirements.txt first"
spark_jars="$pyspark_dir/jars"
[[ -d "$spark_jars" ]] || die "$spark_jars does not exist: is this a pip-installed pyspark?"
[[ -w "$spark_jars" ]] || die "$spark_jars is not writable by $(id -un)"

mkdir -p "$cache_dir"
pom_hash="$(sha256sum "$pom" | cut -d' ' -f1)"

cache_is_current() {
  [[ -f "$stamp_file" ]] || return 1
  # Stamp format: line 1 = pom hash, following lines = jar file names Maven produced.
  [[ "$(head -n1 "$stamp_file")" == "$pom_hash" ]] || return 1
  local jar
  while IFS= read -r jar; do
    [[ -f "$cache_dir/$jar" ]] || return 1
  done < <(tail -n +2 "$stamp_file")
}

if [[ "${FORCE:-0}" != "1" ]] && cache_is_current; then
  say "$cache_dir is up to date with $pom (Maven skipped)"
else
  command -v "$mvn_bin" >/dev/null 2>&1 || die "Maven ('$mvn_bin') not found on PATH; install it (apt-get install maven) or set MVN="
  # Resolve into a fresh staging dir and swap it in only on success: copy-dependencies never
  # deletes, so resolving in place would keep jars of versions dropped from the pom.
  staging="$(mktemp -d "$repo_root/.cache/jars.staging.XXXXXX")"
  mvn_log="$(mktemp "$repo_root/.cache/mvn.XXXXXX.log")"
  trap 'rm -rf "$staging"' EXIT
  say "resolving JVM dependencies with Maven (first run downloads to ~/.m2) ..."
  # shellcheck disable=SC2086  # MVN_FLAGS is intentionally word-split
  if ! "$mvn_bin" -B -q -Dstyle.color=never ${MVN_FLAGS:-} -f "$pom" \
        -Djars.output.dir="$staging" dependency:copy-dependencies >"$mvn_log" 2>&1; then
    echo "---- last lines of $mvn_log ----" >&2
    tail -n 40 "$mvn_log" | sed -E 's/\x1b\[[0-9;]*m//g' >&2
    die "Maven failed to resolve $pom (network/Maven Central reachable? ~/.m2 writable?). Full log: $mvn_log"
  fi
  rm -f "$mvn_log"
  shopt -s nullglob
  staged=("$staging"/*.jar)
  shopt -u nullglob
  (( ${#staged[@]} > 0 )) || die "Maven succeeded but produced no jars in $staging"

  find "$cache_dir" -maxdepth 1 -type f \( -name '*.jar' -o -name '.pom.sha256' \) -delete
  mv "$staging"/*.jar "$cache_dir"/
  { echo "$pom_hash"; (cd "$cache_dir" && ls -1 -- *.jar); } > "$stamp_file"
  say "resolved $((${#staged[@]})) jars into $cache_dir"
fi

mapfile -t wanted < <(tail -n +2 "$stamp_file")

# The project's own classes (scripts/jvm/src: the PostgreSQL COPY writer), compiled against the
# jars they run with into their own folder (.cache/jars holds exactly what the pom resolves,
# which docker/jars.sha256 pins). Rebuilt only when a source or the build script changed.
own_dir=".cache/lakeprep-jvm"
own_jar="lakeprep-jvm.jar"
own_hash="$(cat scripts/jvm/build_jar.sh $(find scripts/jvm/src -name '*.java' | sort) | sha256sum | cut -d' ' -f1)"
if [[ -f "$own_dir/$own_jar" && "$(cat "$own_dir/.src.sha256" 2>/dev/null)" == "$own_hash" ]]; then
  say "$own_dir/$own_jar is up to date with scripts/jvm/src"
else
  bash scripts/jvm/build_jar.sh "$spark_jars/*:$cache_dir/*" "$own_dir/$own_jar" \
    || die "could not compile scripts/jvm/src (a JDK 17+ with javac is needed)"
  echo "$own_hash" > "$own_dir/.src.sha256"
fi

manifest="$spark_jars/$manifest_name"
previously=()
[[ -f "$manifest" ]] && mapfile -t previously < "$manifest"

# Refuse to install a second copy (any version) of something Spark already ships: which of the
# two classes wins depends on classpath order and fails late with NoSuchMethodError. Jars this
# script installed earlier are not "shipped by Spark", so they are left out of the comparison.
shipped="$(cd "$spark_jars" && ls -1 -- *.jar | grep -vxF -f <(printf '%s\n' "${previously[@]}" "${wanted[@]}") | artifact_of | sort -u || true)"
overlap="$(printf '%s\n' "${wanted[@]}" | artifact_of | sort -u | comm -12 - <(printf '%s\n' "$shipped"))"
if [[ -n "$overlap" ]]; then
  die "these artifacts are already shipped in $spark_jars and must be excluded in $pom: $(echo "$overlap" | tr '\n' ' ')"
fi

# Same bytes without reading them where possible: the AWS SDK bundle is ~640 MB, and a warm
# `make setup` runs on every `make run` / `make test`. A hard link (same inode) is trivially the
# same file; a copy made by this script keeps the cache's size and mtime (cp -p), which is what
# rsync's quick check trusts; anything else is compared byte by byte.
same_jar() {
  local src="$1" dst="$2"
  [[ -f "$dst" ]] || return 1
  [[ "$src" -ef "$dst" ]] && return 0
  [[ "$(stat -c '%s %Y' -- "$src")" == "$(stat -c '%s %Y' -- "$dst")" ]] && return 0
  cmp -s -- "$src" "$dst"
}

# Where each installed jar comes from: the pom's in .cache/jars, the project's own in $own_dir.
source_of() { if [[ "$1" == "$own_jar" ]]; then echo "$own_dir/$1"; else echo "$cache_dir/$1"; fi; }
wanted+=("$own_jar")

installed=0; unchanged=0; removed=0
for jar in "${wanted[@]}"; do
  src="$(source_of "$jar")"
  if same_jar "$src" "$spark_jars/$jar"; then
    # Same bytes in two inodes (after FORCE=1 or a cache rebuild): re-link so the bundle is
    # stored once. Best effort: a failed link (other filesystem) keeps the identical copy.
    if ! [[ "$src" -ef "$spark_jars/$jar" ]] \
       && ln -f -- "$src" "$spark_jars/.$jar.tmp" 2>/dev/null; then
      mv -f -- "$spark_jars/.$jar.tmp" "$spark_jars/$jar"
    fi
    unchanged=$((unchanged + 1))
  else
    # Link or copy to a temp name, then rename, so a concurrently starting JVM never sees a
    # half-written jar. A hard link costs no disk and no time when .cache and the venv share a
    # filesystem (the 640 MB bundle is then stored once); across filesystems it falls back to a
    # copy. Cache files are never modified in place (a pom change replaces them), so a link
    # cannot change under the installed jar.
    rm -f -- "$spark_jars/.$jar.tmp"
    ln -- "$src" "$spark_jars/.$jar.tmp" 2>/dev/null \
      || cp -p -- "$src" "$spark_jars/.$jar.tmp"
    mv -f -- "$spark_jars/.$jar.tmp" "$spark_jars/$jar"
    say "installed $jar"
    installed=$((installed + 1))
  fi
done

for jar in "${previously[@]}"; do
  [[ -n "$jar" ]] || continue
  if ! printf '%s\n' "${wanted[@]}" | grep -qxF -- "$jar"; then
    rm -f -- "$spark_jars/$jar"
    say "removed stale $jar"
    removed=$((removed + 1))
  fi
done

printf '%s\n' "${wanted[@]}" > "$manifest"
say "pyspark jars dir: $spark_jars"
say "done: ${#wanted[@]} jars (${installed} installed, ${unchanged} unchanged, ${removed} removed)"
