"""A store's partition: our murmur2 is Kafka's (aiokafka's reference implementation)."""

from __future__ import annotations

from aiokafka.partitioner import DefaultPartitioner
from aiokafka.partitioner import murmur2 as reference
from hypothesis import given
from hypothesis import strategies as st

from streamproc.kafka.partitioning import murmur2, partition_of, partition_of_key


@given(st.binary(max_size=200))
def test_murmur2_equals_aiokafkas(data: bytes) -> None:
    assert murmur2(data) == reference(data)


@given(st.text(min_size=1, max_size=80), st.integers(min_value=1, max_value=64))
def test_a_store_lands_where_the_producers_default_partitioner_puts_its_key(
        store_id: str, partitions: int) -> None:
    expected = DefaultPartitioner()(store_id.encode(), list(range(partitions)), [])
    assert partition_of(store_id, partitions) == expected
    assert partition_of_key(store_id.encode(), partitions) == expected


def test_every_tail_length() -> None:
    for n in range(12):
        data = bytes(range(200, 200 + n))
        assert murmur2(data) == reference(data), n
