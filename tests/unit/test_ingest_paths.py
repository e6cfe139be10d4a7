"""The plain-Python checks of the ingest listing: local paths, symlink loops, dangling links."""
from __future__ import annotations

import os

from lakeprep.text import ingest


def test_local_path_of_uris_and_plain_paths(tmp_path):
    assert ingest._local_path("file:/data/a b.txt") == "/data/a b.txt"
    assert ingest._local_path("s3a://bucket/key.txt") is None
    assert ingest._local_path("hdfs://nn:8020/x") is None
    assert ingest._local_path(str(tmp_path)) == str(tmp_path)


def test_symlink_loop_copies_are_found_and_the_real_file_is_not(tmp_path):
    (tmp_path / "d" / "sub").mkdir(parents=True)
    os.symlink("..", tmp_path / "d" / "sub" / "up")
    real = f"file:{tmp_path}/d/a.txt"
    looped = [f"file:{tmp_path}/d/sub/up/a.txt", f"file:{tmp_path}/d/sub/up/sub/up/a.txt"]
    assert ingest._looped_files([real, *looped, "s3a://b/d/sub/up/a.txt"]) == looped


def test_a_symlink_to_a_sibling_is_not_a_loop(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    os.symlink(tmp_path / "a", tmp_path / "b" / "to_a")
    assert ingest._looped_files([f"file:{tmp_path}/b/to_a/x.txt"]) == []


def test_a_200_level_tree_is_not_a_loop(tmp_path):
    deep = tmp_path.joinpath(*["d"] * 200)
    deep.mkdir(parents=True)
    assert ingest._looped_files([f"file:{deep}/x.txt"]) == []


def test_dangling_links_named_like_inputs_are_found(tmp_path):
    (tmp_path / "ok.txt").write_text("x")
    os.symlink(tmp_path / "missing.txt", tmp_path / "gone.txt")
    os.symlink(tmp_path / "missing.csv", tmp_path / "gone.csv")  # not an input name
    os.symlink(tmp_path / "ok.txt", tmp_path / "alive.txt")
    assert ingest._dangling_links([tmp_path.as_uri()], (".txt",)) == [f"file:{tmp_path}/gone.txt"]
    assert ingest._dangling_links(["s3a://bucket/raw"], (".txt",)) == []
