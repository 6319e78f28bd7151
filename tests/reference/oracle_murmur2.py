"""Kafka's default partitioner for keyed records, written from its algorithm.

``Utils.murmur2`` of the Java client (``clients/src/main/java/org/apache/kafka/
common/utils/Utils.java``): MurmurHash2, 32 bits, seed 0x9747b28c, on Java
``int`` arithmetic (wrapping at 2^32, ``>>>`` an unsigned shift); the
producer's partition for a key is ``toPositive(murmur2(key)) % partitions``
with ``toPositive(x) = x & 0x7fffffff`` (``BuiltInPartitioner.partitionForKey``).

Python integers do not wrap, so every step is reduced to 32 bits by hand; the
result is returned as the signed Java ``int`` (the values Kafka's ``UtilsTest``
asserts).
"""

from __future__ import annotations

__all__ = ["kafka_partition", "murmur2"]

_MASK = 0xFFFFFFFF
_SEED = 0x9747B28C
_M = 0x5BD1E995
_R = 24


def _mul(a: int, b: int) -> int:
    return (a * b) & _MASK


def murmur2(data: bytes) -> int:
    """Kafka's ``Utils.murmur2(data)``, as a signed 32-bit int."""
    length = len(data)
    h = (_SEED ^ length) & _MASK
    whole = length - length % 4
    for i in range(0, whole, 4):
        # four bytes, little-endian
        k = data[i] | (data[i + 1] << 8) | (data[i + 2] << 16) | (data[i + 3] << 24)
        k = _mul(k, _M)
        k ^= k >> _R  # k is unsigned here, so >> is Java's >>>
        k = _mul(k, _M)
        h = _mul(h, _M)
        h ^= k
    rest = length % 4
    # the Java switch falls through: 3 takes 2 and 1 with it
    if rest >= 3:
        h ^= data[whole + 2] << 16
    if rest >= 2:
        h ^= data[whole + 1] << 8
    if rest >= 1:
        h ^= data[whole]
        h = _mul(h, _M)
    h ^= h >> 13
    h = _mul(h, _M)
    h ^= h >> 15
    return h - (1 << 32) if h & 0x80000000 else h


def kafka_partition(key: bytes, partitions: int) -> int:
    """The partition Kafka's default partitioner gives a record with this key."""
    if type(partitions) is not int or partitions < 1:
        raise ValueError("partitions must be an int >= 1")
    return (murmur2(key) & 0x7FFFFFFF) % partitions
