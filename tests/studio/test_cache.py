"""studio.cache: Django's Redis cache, each thread's backend keeping one redis client per
connection pool instead of making one for every call; the cache behaves as Django's does."""

from __future__ import annotations

import uuid

from studio.cache import Cache
from tests.worker import broker_url


def _cache() -> Cache:
    return Cache(broker_url(), {"KEY_PREFIX": f"test-cache-{uuid.uuid4().hex}"})


def test_it_reads_and_writes_as_django_s_redis_cache_does() -> None:
    cache = _cache()
    assert cache.get("policy") is None
    cache.set("policy", {"timezone": "Europe/London"}, 60)
    assert cache.get("policy") == {"timezone": "Europe/London"}
    assert cache.add("policy", "other", 60) is False
    assert cache.get_many(["policy", "none"]) == {"policy": {"timezone": "Europe/London"}}
    cache.delete("policy")
    assert cache.get("policy", "gone") == "gone"


def test_every_call_goes_through_the_same_client() -> None:
    cache = _cache()
    client = cache._cache.get_client()
    cache.set("a", 1, 60)
    assert cache._cache.get_client(write=True) is client
    assert cache._cache.get_client() is client
    cache.delete("a")
