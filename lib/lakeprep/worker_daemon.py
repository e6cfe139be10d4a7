"""PySpark's Python worker daemon, with the text pipeline's modules imported before it forks.

Spark starts one daemon per executor (``python -m <spark.python.daemon.module>``) and forks a
Python worker from it for every concurrent Python task. With the stock daemon
(``pyspark.daemon``) each forked worker then imports pandas, pyarrow, numpy, pycld2, tiktoken
and the rule modules itself and builds dedup's separator table, about 1.6 CPU seconds per worker
before its first row. Imported here once, the fork hands every worker the loaded modules
(copy-on-write), so a worker starts on its rows at once. Selected by ``spark.python.daemon.module``
in conf/local.yaml's ``spark.local_conf`` (local masters only); the daemon itself is pyspark's.
"""
from __future__ import annotations

import gc
import os

# First: pyspark from its installed package rather than spark-submit's pyspark.zip, whose
# directory every worker would otherwise re-read before each task (lakeprep.pyspark_path).
from lakeprep.pyspark_path import skip_bundled_pyspark

skip_bundled_pyspark()

# Imported for their side effect: loaded modules and compiled regexes in the forking process.
from lakeprep.text import chunking, dedup, transforms  # noqa: E402,F401

# dedup's punctuation/symbol table scans every code point (~0.5 s): once, here.
dedup._separators()

# The job's tokenizer (chunking.worker_conf puts its name in the executors' environment):
# parsing its 100,000 merge ranks costs every worker ~0.25 CPU s before its first chunk.
_encoding = os.environ.get(chunking.WORKER_ENCODING_ENV)
if _encoding:
    chunking.get_encoding(_encoding)

# After the imports above: pyspark.daemon reads its worker module from the command line when it
# is imported, exactly as `python -m pyspark.daemon` does.
from pyspark.daemon import manager  # noqa: E402

# Everything loaded so far lives as long as the workers do. Frozen, the cyclic garbage collector
# no longer walks it: pyspark's worker runs a full gc.collect() after every task, which over
# these ~80,000 objects took ~16 ms a task, and the workers' own full collections skip it too.
gc.freeze()

if __name__ == "__main__":
    manager()
