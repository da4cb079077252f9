"""The container cache: clean-up by idle age and size, never under a live lock."""

from __future__ import annotations

import os
import threading
import time

from sessions_cache.cache import CachedCollection, CacheState, cache_clean


def cached(root, name, size, age):
    cache = CachedCollection(name, root)
    with cache.locked():
        cache.path.write_bytes(b"x" * size)
        cache.state_write(CacheState("cid", 0))
    old = time.time() - age
    os.utime(cache.directory / ".lock", (old, old))
    return cache


def test_it_removes_collections_idle_too_long(tmp_path):
    cached(tmp_path, "old", 10, age=7200)
    cached(tmp_path, "new", 10, age=10)
    report = cache_clean(max_idle_seconds=3600, max_bytes=10**9, root=tmp_path)
    assert report.removed == ["old"]
    assert (tmp_path / "new").exists() and not (tmp_path / "old").exists()


def test_it_removes_the_least_recently_used_until_under_the_size_cap(tmp_path):
    for age, name in ((300, "a"), (200, "b"), (100, "c")):
        cached(tmp_path, name, 1000, age=age)
    report = cache_clean(max_idle_seconds=3600, max_bytes=2500, root=tmp_path)
    assert report.removed == ["a"]
    assert report.kept_bytes <= 2500


def test_it_never_removes_a_collection_in_use(tmp_path):
    cache = cached(tmp_path, "busy", 10, age=7200)
    holding, release = threading.Event(), threading.Event()

    def hold():
        with cache.locked():
            holding.set()
            release.wait(5)

    thread = threading.Thread(target=hold)
    thread.start()
    holding.wait(5)
    try:
        assert cache_clean(max_idle_seconds=0, max_bytes=0, root=tmp_path).removed == []
    finally:
        release.set()
        thread.join()


def test_a_lock_on_a_removed_directory_is_not_trusted(tmp_path):
    cache = cached(tmp_path, "gone", 10, age=7200)
    cache_clean(max_idle_seconds=0, max_bytes=0, root=tmp_path)
    with cache.locked():
        assert (cache.directory / ".lock").exists()
        assert cache.state() is None
