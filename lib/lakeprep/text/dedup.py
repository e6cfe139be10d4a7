"""Document deduplication: exact duplicates by normalized content hash, near duplicates by MinHash LSH.

Both steps look only at **accepted** documents (a rejected document is not training data, so it
can neither be kept nor make another document a duplicate) and keep the **first-seen** copy, in
this total, partition-independent order:

    modified_at ascending (null last), source_uri, record_key (null and "" first), doc_id

so the oldest file wins and ties are broken by location, then by the unique ``doc_id``. The
others become ``status = 'rejected'`` with ``reject_reason`` ``exact_duplicate`` or
``near_duplicate`` and ``duplicate_of`` = the kept ``doc_id``. An exact duplicate of a document
that is itself a near duplicate points at its exact copy, so following ``duplicate_of`` at most
twice always reaches an accepted document.

Exact duplicates
----------------
``content_hash`` = SHA-256 of :func:`normalize_for_hash`: the text case-folded (``str.casefold``,
so "Straße" = "STRASSE"), every run of Unicode whitespace collapsed to one space, stripped. That
merges copies that differ only in case, line wrapping or indentation — which the upstream cleaner
(re-wrapped exports, CRLF, indentation) produces all the time. Punctuation is deliberately
**kept**: it carries meaning ("1.5 mg" vs "15 mg", code operators, "3,000" vs "3 000"), and a
document that differs from another only in punctuation is still found by the near-duplicate
step, whose shingles ignore punctuation, with a similarity close to 1.

Near duplicates: MinHash + banded LSH
-------------------------------------
* Words: the case-folded text with every Unicode punctuation (P*) and symbol (S*) character
  replaced by a space, split on whitespace (letters, digits and combining marks of any script
  kept; one ``str.translate`` + ``split``, twice as fast as a ``\\w+`` regex). Shingles:
  ``ngram`` (5) consecutive words. A document with fewer than ``ngram`` words
  has one shingle made of all its words (so two such short documents match only when their word
  sequences are equal); a document without any word has no signature and is never a candidate.
* Hashing, identical in every process and on every machine (no Python ``hash()``, no numpy RNG):
  each distinct word is hashed once with BLAKE2b-64; a shingle's hash combines its words' hashes
  with fixed odd per-position multipliers (wrap-around uint64 arithmetic, order-sensitive) and
  a murmur3 finalizer, reduced to 32 bits ``x``. Permutation ``i`` is the universal hash
  ``h_i(x) = ((a_i·x + b_i) mod 2^64) >> 32`` with 64-bit ``a_i, b_i`` derived from
  BLAKE2b(seed, i): Dietzfelbinger's multiply-add-shift family, strongly universal for 32-bit
  keys like the textbook ``(a·x + b) mod p`` but without a division (3x faster in numpy: the
  ``mod`` was two thirds of the signature time). The signature is the per-permutation minimum
  over the shingles (numpy, one matrix per block of shingles), as uint32.
* Banding: the first ``bands × rows`` signature values are cut into ``bands`` bands of ``rows``;
  two documents are candidates when all ``rows`` values of at least one band agree. The
  probability of that for a pair of Jaccard similarity ``s`` is ``1 − (1 − s^rows)^bands``, an
  S-curve whose steepest point is ``t ≈ (1/bands)^(1/rows)``:

  ===============  =========  ========  ========  ========
  bands × rows     t          s = 0.7   s = 0.8   s = 0.9
  ===============  =========  ========  ========  ========
  20 × 6 (default) 0.607      0.918     0.9977    1.0000
  14 × 8 (FineWeb) 0.719      0.565     0.924     0.9996
  ===============  =========  ========  ========  ========

  FineWeb/datatrove use 14 × 8 because they have no verification step: a high ``t`` keeps false
  candidates out. Here every candidate is verified, so the default 20 × 6 puts ``t`` well below
  the verification threshold: pairs at 0.8 are found 99.8 % of the time instead of 92 %, and the
  extra candidates only cost a join.
* Verification: a candidate pair is kept when the share of equal signature values (the unbiased
  MinHash estimate of the Jaccard similarity, standard error ``sqrt(s(1−s)/num_perm)`` ≈ 0.037
  at s = 0.8 with 120 permutations) is at least ``threshold`` (0.8).
* Candidate explosion: a bucket (band, band hash) with ``k`` members yields the ``k − 1`` pairs
  (smallest doc_id, member) — a star, not the ``k(k−1)/2`` clique — which connects the same
  documents, so the number of candidate pairs is at most ``bands × documents``. Buckets with more
  than ``max_bucket_size`` members are skipped with a warning (a safety valve for pathological
  inputs; the default is high because the star already keeps a big bucket linear). The star can
  miss a pair whose bucket centre fails verification against both of them; near duplicates
  share several bands (6 of 20 on average at s = 0.8), so they usually meet in another bucket.
* Shingles see words only: documents whose words are degenerate (ASCII art whose only "word"
  is a repeated ``v``) look identical. The document filter (mean word length, alphabetic
  share) rejects such text before dedup, which only considers accepted documents.
* Clusters: connected components of the verified pairs, computed on the executors. Up to
  ``single_task_max_edges`` pairs (the usual case: near-duplicate pairs are few next to the
  documents) by union-find in one Python task, one Spark job; above it by min-label
  propagation with pointer jumping (``label(v) ← min(label(v), labels of neighbours)``, then
  ``label(v) ← label(label(v))``), one DataFrame round per iteration, lineage cut by a
  checkpoint each round, stopping when no label changes (at most ``max_iterations`` rounds).
  Both label a node with the smallest node of its component.
  Each cluster keeps its first-seen member; ``near_dup_cluster`` is that member's doc_id on every
  member, ``near_dup_similarity`` is each duplicate's estimated Jaccard to the kept document (in a
  chain A~B~C it can be below ``threshold`` for C) and, on the kept document, the highest of
  those.

Every choice above is a minimum over a total order or a pure function of one document, so the
same input gives the same clusters and kept documents whatever its partitioning.
"""
from __future__ import annotations

import hashlib
import logging
import sys
import unicodedata
from collections.abc import Iterator
from functools import lru_cache

import numpy as np
import pandas as pd
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T
from pyspark.sql.window import Window

from lakeprep.config import DedupSettings, MinHashSettings
from lakeprep.text.blocks import whitespace_blocks

log = logging.getLogger("lakeprep.text")

STATUS_ACCEPTED, STATUS_REJECTED = "accepted", "rejected"
REASON_EXACT = "exact_duplicate"
REASON_NEAR = "near_duplicate"

# Columns deduplicate() adds to the documents.
DEDUP_COLUMNS = T.StructType([
    T.StructField("content_hash", T.StringType(), True),
    T.StructField("duplicate_of", T.StringType(), True),
    T.StructField("near_dup_cluster", T.StringType(), True),
    T.StructField("near_dup_similarity", T.DoubleType(), True),
])

_SHIFT32 = np.uint64(32)
# Shingles are hashed in blocks so that a huge document never builds a (shingles x permutations)
# matrix larger than ~ this many rows (8192 x 128 x 8 bytes = 8 MB).
_BLOCK_ROWS = 8192
# Distinct words a worker keeps hashed. The cache grows with the corpus's vocabulary, so its
# bound is the worker's memory: 2,000,000 words grew a worker by up to ~240 MB (86 MB at the
# 16x benchmark corpus's 314,000 words). Word frequencies are Zipfian: the words that fill most
# of the text come back within moments of a clear, so 50,000 words costs ~0.6 CPU s more over
# that corpus's 11.3 million words (~1.4 -> ~2.0 s) for ~25 MB instead (docs/BENCHMARKS.md).
_WORD_CACHE_LIMIT = 50_000
# Latest representable timestamp: documents without modified_at sort after every dated one.
_NO_TIMESTAMP = 2**63 - 1


# --------------------------------------------------------------------------------------------
# Pure Python / numpy part (unit-tested without Spark)
# --------------------------------------------------------------------------------------------

def _normalized_pieces(text: str) -> Iterator[str]:
    """normalize_for_hash(text) in consecutive pieces, a block at a time (lakeprep.text.blocks):
    case-folding a whole long text has a transient peak of ~12 bytes per character, and its
    word list one object per word. Blocks end at whitespace, so their normalized words, joined
    by single spaces, are exactly the whole text's."""
    separator = ""
    for block in whitespace_blocks(text):
        block_words = block.casefold().split()
        if block_words:
            yield separator + " ".join(block_words)
            separator = " "


def normalize_for_hash(text: str) -> str:
    """The text exact duplicates are compared on: case-folded, whitespace runs -> one space, stripped."""
    return "".join(_normalized_pieces(text))


def content_hash(text: str | None) -> str | None:
    """Hex SHA-256 of :func:`normalize_for_hash`; None for a document without text."""
    if text is None:
        return None
    digest = hashlib.sha256()
    for piece in _normalized_pieces(text):  # never the whole normalized text at once
        digest.update(piece.encode("utf-8", "surrogatepass"))
    return digest.hexdigest()


@lru_cache(maxsize=1)
def _separators() -> dict[int, str]:
    # Built once per process (~0.5 s): every punctuation and symbol code point -> space.
    return {cp: " " for cp in range(sys.maxunicode + 1)
            if unicodedata.category(chr(cp))[0] in "PS"}


def words(text: str) -> list[str]:
    """Case-folded words, punctuation and symbols removed: the units of the shingles."""
    return text.casefold().translate(_separators()).split()


def _blake64(data: bytes) -> int:
    return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "little")


class _WordHashCache(dict):
    """word -> BLAKE2b-64, filled on first lookup. Per worker process: words repeat across
    documents, and hashing each distinct word once is what makes the signature fast."""

    def __missing__(self, word: str) -> int:
        h = self[word] = _blake64(word.encode("utf-8", "surrogatepass"))
        return h


_WORD_CACHE = _WordHashCache()


def _word_hashes(tokens: list[str]) -> np.ndarray:
    if len(_WORD_CACHE) > _WORD_CACHE_LIMIT:  # bounded memory on huge vocabularies
        _WORD_CACHE.clear()
    return np.fromiter(map(_WORD_CACHE.__getitem__, tokens), dtype=np.uint64, count=len(tokens))


@lru_cache(maxsize=8)
def _position_multipliers(ngram: int) -> np.ndarray:
    # Odd constants (invertible mod 2^64) per position: "a b c" and "c b a" hash differently.
    return np.array([_blake64(f"lakeprep-shingle-position:{j}".encode()) | 1
                     for j in range(ngram)], dtype=np.uint64)


def _fmix64(h: np.ndarray) -> np.ndarray:
    # murmur3's 64-bit finalizer: every input bit affects every output bit, so the 32 bits kept
    # below are well mixed although the combination of word hashes is linear.
    h = h ^ (h >> np.uint64(33))
    h = h * np.uint64(0xFF51AFD7ED558CCD)
    h = h ^ (h >> np.uint64(33))
    h = h * np.uint64(0xC4CEB9FE1A85EC53)
    return h ^ (h >> np.uint64(33))


def shingle_hashes(text: str, ngram: int = 5) -> np.ndarray:
    """32-bit hashes (as uint64) of the word ``ngram``-shingles of ``text``.

    Fewer than ``ngram`` words: one shingle of all of them; no word: an empty array.
    """
    # Word hashes a block at a time (lakeprep.text.blocks): 8 bytes per word instead of a
    # whole long text's case-folded copy and word list. Blocks end at whitespace, which
    # casefold() and the separator table keep, so the words are those of words(text).
    parts = [_word_hashes(words(block)) for block in whitespace_blocks(text)]
    wh = parts[0] if len(parts) == 1 else np.concatenate(parts or [np.empty(0, np.uint64)])
    n = len(wh)
    if n == 0:
        return np.empty(0, dtype=np.uint64)
    k = min(ngram, n)
    mult = _position_multipliers(ngram)
    with np.errstate(over="ignore"):  # uint64 wrap-around is the intended arithmetic
        h = np.zeros(n - k + 1, dtype=np.uint64)
        for j in range(k):
            h += wh[j:n - k + 1 + j] * mult[j]
        h = _fmix64(h)
    return h >> _SHIFT32


@lru_cache(maxsize=8)
def permutations(num_perm: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The 64-bit ``(a, b)`` coefficients of the multiply-add-shift hashes, from BLAKE2b of
    (seed, index): derived by hashing rather than numpy's RNG, whose streams may change between
    numpy versions. ``a`` is odd so that no permutation is constant."""
    a = np.empty(num_perm, dtype=np.uint64)
    b = np.empty(num_perm, dtype=np.uint64)
    for i in range(num_perm):
        d = hashlib.blake2b(f"lakeprep-minhash:{seed}:{i}".encode(), digest_size=16).digest()
        a[i] = int.from_bytes(d[:8], "little") | 1
        b[i] = int.from_bytes(d[8:], "little")
    return a, b


def minhash_signature(text: str | None, num_perm: int, seed: int, ngram: int = 5) -> np.ndarray | None:
    """MinHash signature (uint32, ``num_perm`` values) of the word shingles; None without words."""
    if text is None:
        return None
    x = shingle_hashes(text, ngram)
    if len(x) == 0:
        return None
    a, b = permutations(num_perm, seed)
    sig = np.full(num_perm, np.iinfo(np.uint64).max, dtype=np.uint64)
    with np.errstate(over="ignore"):  # the hash is defined mod 2^64: wrap-around intended
        for start in range(0, len(x), _BLOCK_ROWS):
            m = np.multiply.outer(x[start:start + _BLOCK_ROWS], a)
            m += b
            np.minimum(sig, m.min(axis=0), out=sig)
    # ">> 32" is monotone, so taking the top 32 bits after the minimum gives the same result as
    # before it, for one shift per permutation instead of one per shingle and permutation.
    return (sig >> _SHIFT32).astype(np.uint32)


def estimate_jaccard(sig_a: np.ndarray, sig_b: np.ndarray) -> float:
    """Share of equal signature values: the MinHash estimate of the shingle Jaccard similarity."""
    return float(np.count_nonzero(sig_a == sig_b)) / len(sig_a)


def band_hashes(sig: np.ndarray, bands: int, rows: int) -> list[int]:
    """One signed 64-bit hash per band of ``rows`` consecutive signature values (little-endian
    bytes, so the same on every machine)."""
    data = np.ascontiguousarray(sig[:bands * rows], dtype="<u4").tobytes()
    width = rows * 4
    return [int.from_bytes(hashlib.blake2b(data[i * width:(i + 1) * width], digest_size=8).digest(),
                           "little", signed=True) for i in range(bands)]


def lsh_threshold(bands: int, rows: int) -> float:
    """Jaccard similarity at the steepest point of the banding S-curve, ≈ (1/bands)^(1/rows)."""
    return (1.0 / bands) ** (1.0 / rows)


def lsh_candidate_probability(similarity: float, bands: int, rows: int) -> float:
    """Probability that a pair with this Jaccard similarity shares at least one band."""
    return 1.0 - (1.0 - similarity ** rows) ** bands


# --------------------------------------------------------------------------------------------
# Spark part
# --------------------------------------------------------------------------------------------

_KEYS_SCHEMA = T.StructType([
    T.StructField("doc_id", T.StringType(), False),
    T.StructField("accepted", T.BooleanType(), False),
    T.StructField("ord_ts", T.LongType(), False),
    T.StructField("source_uri", T.StringType(), True),
    T.StructField("record_key", T.StringType(), True),
    T.StructField("content_hash", T.StringType(), True),
    T.StructField("signature", T.ArrayType(T.IntegerType(), False), True),
    T.StructField("band_hashes", T.ArrayType(T.LongType(), False), True),
])
_PASS_THROUGH = ["doc_id", "accepted", "ord_ts", "source_uri", "record_key"]


def _materialize(df: DataFrame) -> DataFrame:
    """Compute ``df`` now and cut its lineage: a reliable checkpoint when a checkpoint directory is
    set (clusters), else a local one (executor storage; enough for a local session). Iterative
    steps would otherwise re-run the whole plan, text hashing included, at every action."""
    try:
        if df.sparkSession.sparkContext.getCheckpointDir():
            return df.checkpoint(eager=True)
    except Exception:  # no SparkContext (Spark Connect): local checkpoints are still supported
        pass
    return df.localCheckpoint(eager=True)


def _order_key() -> Column:
    """First-seen order as a comparable struct (Spark compares struct fields left to right)."""
    return F.struct(F.col("ord_ts").alias("ts"),
                    F.coalesce(F.col("source_uri"), F.lit("")).alias("uri"),
                    F.coalesce(F.col("record_key"), F.lit("")).alias("key"),
                    F.col("doc_id").alias("doc_id"))


def _document_keys(documents: DataFrame, cfg: DedupSettings, with_signatures: bool) -> DataFrame:
    """One narrow row per document (no text): order columns, content hash and, for accepted
    documents, MinHash signature and band hashes. The only pass of Python over the text."""
    mh = cfg.minhash

    def run(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        for batch in batches:
            hashes, sigs, bands = [], [], []
            for text, accepted in zip(batch["text"], batch["accepted"]):
                hashes.append(content_hash(text))
                sig = (minhash_signature(text, mh.num_perm, mh.seed, mh.ngram)
                       if with_signatures and accepted else None)
                # int32 view: Spark has no unsigned ints; equality, all that is compared, is kept.
                sigs.append(None if sig is None else sig.view(np.int32))
                bands.append(None if sig is None else band_hashes(sig, mh.bands, mh.rows))
            out = batch[_PASS_THROUGH].reset_index(drop=True)
            out["content_hash"] = hashes
            out["signature"] = sigs
            out["band_hashes"] = bands
            yield out

    prepared = documents.select(
        "doc_id",
        (F.col("status") == STATUS_ACCEPTED).alias("accepted"),
        F.coalesce(F.unix_micros(F.col("modified_at").cast("timestamp")),
                   F.lit(_NO_TIMESTAMP)).alias("ord_ts"),
        F.col("source_uri").cast("string"),
        F.col("record_key").cast("string"),
        "text",
    )
    return prepared.mapInPandas(run, _KEYS_SCHEMA)


def _mark_exact(keys: DataFrame) -> DataFrame:
    """``keys`` + ``exact_dup_of``: for an accepted document whose content hash an earlier
    accepted document has, that document's doc_id (window per hash: one shuffle, no join)."""
    eligible = F.col("accepted") & F.col("content_hash").isNotNull()
    # min ignores nulls: only accepted documents can be the kept copy.
    first = F.min(F.when(eligible, _order_key())).over(Window.partitionBy("content_hash"))
    marked = keys.withColumn("_first", F.when(eligible, first["doc_id"]))
    return marked.select(*keys.columns,
                         F.when(F.col("_first") != F.col("doc_id"), F.col("_first"))
                         .alias("exact_dup_of"))


def _agreement(left: str, right: str, num_perm: int) -> Column:
    # Share of equal signature values, computed in the JVM (no Python round trip per pair).
    equal = F.zip_with(F.col(left), F.col(right), lambda x, y: x == y)
    return F.size(F.filter(equal, lambda e: e)).cast("double") / F.lit(float(num_perm))


def candidate_pairs(nodes: DataFrame, mh: MinHashSettings) -> DataFrame:
    """(src, dst) candidate pairs from the LSH buckets of ``nodes`` (doc_id, band_hashes),
    src < dst: each bucket is a star around its smallest doc_id (k - 1 pairs, not k(k-1)/2).
    Buckets over ``mh.max_bucket_size`` members are left out (counted by :func:`_log_oversized`)."""
    bucket = Window.partitionBy("band_id", "band_hash")
    banded = nodes.select("doc_id", F.posexplode("band_hashes").alias("band_id", "band_hash"))
    return (banded.select("doc_id", F.min("doc_id").over(bucket).alias("src"),
                          F.count(F.lit(1)).over(bucket).alias("size"))
            .where((F.col("doc_id") != F.col("src")) & (F.col("size") <= mh.max_bucket_size))
            .select("src", F.col("doc_id").alias("dst"))
            .distinct())


def _count(df: DataFrame, known: int | None) -> int:
    """``known`` when the caller passed the documents' count (an upper bound of every frame
    derived from them here), else a counting job."""
    return known if known is not None else df.count()


def _log_oversized(nodes: DataFrame, mh: MinHashSettings, rows: int | None) -> None:
    # Only counted when a bucket can exceed the cap at all: an extra job otherwise wasted.
    if _count(nodes, rows) <= mh.max_bucket_size:
        return
    n = (nodes.select(F.posexplode("band_hashes").alias("band_id", "band_hash"))
         .groupBy("band_id", "band_hash").count()
         .where(F.col("count") > mh.max_bucket_size).count())
    if n:
        log.warning("dedup: %d LSH bucket(s) with more than %d members skipped", n,
                    mh.max_bucket_size)


def verified_pairs(pairs: DataFrame, signatures: DataFrame, mh: MinHashSettings) -> DataFrame:
    """(src, dst, similarity) for the candidate pairs whose estimated Jaccard >= threshold."""
    s1 = signatures.select(F.col("doc_id").alias("src"), F.col("signature").alias("sig_src"))
    s2 = signatures.select(F.col("doc_id").alias("dst"), F.col("signature").alias("sig_dst"))
    return (pairs.join(s1, "src").join(s2, "dst")
            .select("src", "dst", _agreement("sig_src", "sig_dst", mh.num_perm).alias("similarity"))
            .where(F.col("similarity") >= F.lit(mh.threshold)))


def connected_components(edges: DataFrame, max_iterations: int) -> DataFrame:
    """(node, component) for every node of the undirected graph ``edges`` (src, dst), component =
    smallest node of its connected component. Runs on the executors; nothing is collected.

    Min-label propagation with pointer jumping: each round a node takes the smallest label among
    itself and its neighbours, then the label of that label (which halves chains, so a path of
    length d needs O(log d) rounds, not d). A fixed point has equal labels on both ends of every
    edge, so one label per component: its smallest node, whose label can only be itself.
    """
    src, dst = F.col("src"), F.col("dst")
    # Both directions plus a self-loop per node, so "min over (a, b) rows" is the minimum over
    # the node itself and its neighbours, and the row b = a carries the node's previous label.
    both = _materialize(
        edges.select(src.alias("a"), dst.alias("b"))
        .union(edges.select(dst.alias("a"), src.alias("b")))
        .union(edges.select(src.alias("a"), src.alias("b")))
        .union(edges.select(dst.alias("a"), dst.alias("b")))
        .distinct())
    # Initial label: the smallest of the node and its neighbours (always a node of the graph, which
    # the pointer-jumping join relies on).
    labels = _materialize(both.groupBy("a").agg(F.min("b").alias("label"))
                          .withColumnRenamed("a", "node"))
    for iteration in range(1, max_iterations + 1):
        step = (both.join(labels.select(F.col("node").alias("b"), F.col("label").alias("lb")), "b")
                .groupBy("a")
                .agg(F.min("lb").alias("label"),
                     F.max(F.when(F.col("a") == F.col("b"), F.col("lb"))).alias("old"))
                .withColumnRenamed("a", "node"))
        # Pointer jumping: adopt the label of one's label, halving chain lengths each round.
        target = step.select(F.col("node").alias("t_node"), F.col("label").alias("t_label"))
        new_label = F.least("label", "t_label")
        jumped = _materialize(
            step.join(target, step["label"] == target["t_node"])
            .select("node", new_label.alias("label"), (new_label != F.col("old")).alias("changed")))
        labels = jumped.select("node", "label")
        if jumped.where("changed").isEmpty():
            log.info("dedup: connected components converged after %d iteration(s)", iteration)
            break
    else:
        # Labels are still valid (each is a node of the same component), but a component may be
        # split: fewer documents are rejected, never a wrong one. Raise max_iterations if seen.
        log.warning("dedup: connected components not converged after %d iterations",
                    max_iterations)
    return labels.select("node", F.col("label").alias("component"))


_COMPONENTS_SCHEMA = T.StructType([T.StructField("node", T.StringType(), False),
                                     T.StructField("component", T.StringType(), False)])
# Rows per output batch of the single-task components (bounds the pandas frame built at once).
_COMPONENT_ROWS = 65536


def _union_find(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
    """(node, component) of all (src, dst) edges in ``batches``: union-find whose root is always
    the smallest node of its set (so the component is the same label the propagation gives);
    path halving keeps the trees shallow."""
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for batch in batches:
        for a, b in zip(batch["src"], batch["dst"]):
            ra, rb = find(parent.setdefault(a, a)), find(parent.setdefault(b, b))
            if ra != rb:  # Python compares str by code point: the order of Spark's UTF-8 bytes
                parent[max(ra, rb)] = min(ra, rb)
    nodes = list(parent)
    for start in range(0, len(nodes), _COMPONENT_ROWS):
        part = nodes[start:start + _COMPONENT_ROWS]
        yield pd.DataFrame({"node": part, "component": [find(n) for n in part]})


def components_in_one_task(edges: DataFrame) -> DataFrame:
    """Same result as :func:`connected_components`, computed by one executor task (one Spark
    job instead of several per propagation round). For graphs whose edges fit one Python
    worker's memory: the caller bounds them (``single_task_max_edges``)."""
    return edges.select("src", "dst").coalesce(1).mapInPandas(_union_find, _COMPONENTS_SCHEMA)


def _near_duplicates(nodes: DataFrame, mh: MinHashSettings, rows: int | None) -> DataFrame:
    """(doc_id, near_dup_cluster, near_dup_similarity, near_dup_of) for the ``nodes`` (accepted,
    not exact duplicates, with a signature) that are in a cluster."""
    _log_oversized(nodes, mh, rows)
    verified = _materialize(verified_pairs(candidate_pairs(nodes, mh), nodes, mh))
    n_pairs = verified.count()
    if n_pairs == 0:
        return nodes.sparkSession.createDataFrame(
            [], "doc_id string, near_dup_cluster string, near_dup_similarity double, "
                "near_dup_of string")
    if n_pairs <= mh.single_task_max_edges:
        components = components_in_one_task(verified)
    else:
        log.info("dedup: %d verified pairs (> single_task_max_edges %d): distributed connected "
                 "components", n_pairs, mh.single_task_max_edges)
        components = connected_components(verified, mh.max_iterations)
    members = (components.withColumnRenamed("node", "doc_id")
               .join(nodes.select("doc_id", "ord_ts", "source_uri", "record_key", "signature"),
                     "doc_id"))
    cluster = Window.partitionBy("component")
    # The kept document and its signature in one window pass (no aggregate + join back).
    kept = F.min(_order_key()).over(cluster)["doc_id"]
    kept_sig = F.min_by("signature", _order_key()).over(cluster)
    scored = (members.select("doc_id", "component", "signature", kept.alias("kept"),
                             kept_sig.alias("kept_sig"))
              .select("doc_id", "component", "kept",
                      F.when(F.col("doc_id") != F.col("kept"),
                             _agreement("signature", "kept_sig", mh.num_perm)).alias("sim")))
    # Same partitioning as above, so no second shuffle.
    best = F.max("sim").over(cluster)
    return scored.select(
        "doc_id",
        F.col("kept").alias("near_dup_cluster"),
        F.coalesce(F.col("sim"), best).alias("near_dup_similarity"),
        F.when(F.col("doc_id") != F.col("kept"), F.col("kept")).alias("near_dup_of"))


def _with_null_dedup_columns(documents: DataFrame) -> DataFrame:
    return documents.select("*", *[F.lit(None).cast(f.dataType).alias(f.name)
                                   for f in DEDUP_COLUMNS.fields])


# Upper bound of one row of _apply's result in Spark's row format: five strings of at most 64
# characters (SHA-256 hex ids and hashes, the reason), a double and the row's field offsets.
_RESULT_ROW_BYTES = 400


def _fits_broadcast(result: DataFrame, rows: int | None) -> bool:
    """Whether the materialized ``result`` is within Spark's own broadcast limit
    (spark.sql.autoBroadcastJoinThreshold; -1 turns broadcasts off), judged by its row count:
    ``rows`` when the caller knows it (one result row per document), else counted."""
    try:
        limit = int(result.sparkSession._jsparkSession.sessionState().conf()
                    .autoBroadcastJoinThreshold())
    except Exception:  # no JVM handle (Spark Connect): leave the choice to Spark
        return False
    if limit <= 0:
        return False
    return _count(result, rows) * _RESULT_ROW_BYTES <= limit


def _apply(documents: DataFrame, cfg: DedupSettings, near: bool, rows: int | None) -> DataFrame:
    keys = _materialize(_mark_exact(_document_keys(documents, cfg, with_signatures=near)))
    result = keys.select("doc_id", "content_hash", "exact_dup_of")
    if near:
        nodes = keys.where(F.col("accepted") & F.col("exact_dup_of").isNull()
                           & F.col("signature").isNotNull())
        result = result.join(_near_duplicates(nodes, cfg.minhash, rows), "doc_id", "left")
    else:
        result = result.select("*", F.lit(None).cast("string").alias("near_dup_cluster"),
                               F.lit(None).cast("double").alias("near_dup_similarity"),
                               F.lit(None).cast("string").alias("near_dup_of"))
    result = _materialize(result.select(
        F.col("doc_id").alias("_dd_doc_id"), "content_hash",
        F.coalesce("exact_dup_of", "near_dup_of").alias("duplicate_of"),
        "near_dup_cluster", "near_dup_similarity",
        F.when(F.col("exact_dup_of").isNotNull(), F.lit(REASON_EXACT))
        .when(F.col("near_dup_of").isNotNull(), F.lit(REASON_NEAR)).alias("_dd_reason")))

    if _fits_broadcast(result, rows):
        # Spark cannot size a checkpoint before running it, so it plans a sort-merge join that
        # shuffles the documents, text and all; the result is small: send it to them instead.
        result = F.broadcast(result)
    joined = documents.join(result, documents["doc_id"] == result["_dd_doc_id"], "left")
    is_dup = F.col("_dd_reason").isNotNull()
    replaced = {
        "status": F.when(is_dup, F.lit(STATUS_REJECTED)).otherwise(F.col("status")),
        "reject_reason": F.when(is_dup, F.col("_dd_reason")).otherwise(F.col("reject_reason")),
    }
    if "failed_rules" in documents.columns:
        # failed_rules lists every reason a document was rejected for; a duplicate passed the
        # quality rules, so its list becomes the dedup reason.
        replaced["failed_rules"] = (F.when(is_dup, F.concat(F.col("failed_rules"),
                                                            F.array(F.col("_dd_reason"))))
                                    .otherwise(F.col("failed_rules")))
    cols = [replaced[c].alias(c) if c in replaced else documents[c] for c in documents.columns]
    return joined.select(*cols, *[F.col(f.name).cast(f.dataType).alias(f.name)
                                  for f in DEDUP_COLUMNS.fields])


def deduplicate(documents: DataFrame, cfg: DedupSettings, rows: int | None = None) -> DataFrame:
    """Exact then (if ``cfg.near_duplicates``) near-duplicate dedup of the accepted documents.

    Returns ``documents`` with ``content_hash``, ``duplicate_of``, ``near_dup_cluster`` and
    ``near_dup_similarity`` appended, and ``status`` / ``reject_reason`` (and ``failed_rules``
    when present) updated for the duplicates. Runs Spark jobs (the signatures and the connected
    components are computed and checkpointed here); the returned DataFrame is a join of
    ``documents`` with a small checkpointed table. With ``cfg.enabled`` false the columns are
    added as nulls, so the output schema never depends on the switch.

    ``rows``: the documents' row count, when the caller has it (the pipeline counts them as it
    caches them); it replaces the two counting jobs that size the broadcast and decide whether
    an LSH bucket can be oversized. More than the count is safe (no broadcast, a bucket check
    run for nothing), less is not.
    """
    if not cfg.enabled:
        return _with_null_dedup_columns(documents)
    return _apply(documents, cfg, near=cfg.near_duplicates, rows=rows)


def dedup_stats(documents: DataFrame) -> dict:
    """Counts for the report, from deduplicate()'s output (one aggregation)."""
    row = documents.agg(
        F.count(F.when(F.col("reject_reason") == REASON_EXACT, 1)).alias("exact_duplicates"),
        F.count(F.when(F.col("reject_reason") == REASON_NEAR, 1)).alias("near_duplicates"),
        F.countDistinct("near_dup_cluster").alias("near_dup_clusters"),
        F.count("near_dup_cluster").alias("documents_in_near_dup_clusters"),
        F.count(F.when(F.col("status") == STATUS_ACCEPTED, 1)).alias("accepted_after_dedup"),
        F.min(F.when(F.col("reject_reason") == REASON_NEAR, F.col("near_dup_similarity")))
        .alias("min_near_dup_similarity"),
    ).first()
    out = {k: int(row[k]) for k in ("exact_duplicates", "near_duplicates", "near_dup_clusters",
                                     "documents_in_near_dup_clusters", "accepted_after_dedup")}
    out["min_near_dup_similarity"] = (None if row["min_near_dup_similarity"] is None
                                      else round(float(row["min_near_dup_similarity"]), 4))
    return out
