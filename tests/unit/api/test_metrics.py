"""The request-duration histogram: buckets as Prometheus reads them."""

from __future__ import annotations

from hypothesis import given, strategies as st

from api.metrics import Histogram


def test_a_value_on_a_bound_counts_in_that_bucket_and_buckets_are_cumulative():
    h = Histogram((0.1, 1.0))
    for v in (0.05, 0.1, 0.5, 1.0, 7.0):
        h.observe(v)
    assert h.samples() == ['_bucket{le="0.1"} 2', '_bucket{le="1"} 4', '_bucket{le="+Inf"} 5',
                           "_sum 8.650000", "_count 5"]


@given(st.lists(st.floats(0, 100, allow_nan=False), max_size=50))
def test_each_bucket_counts_the_values_up_to_its_bound(values):
    h = Histogram()
    for v in values:
        h.observe(v)
    lines = h.samples()
    for bound, line in zip(h.bounds, lines):
        assert line == f'_bucket{{le="{bound:g}"}} {sum(v <= bound for v in values)}'
    assert lines[len(h.bounds)] == f'_bucket{{le="+Inf"}} {len(values)}' and lines[-1] == f"_count {len(values)}"
