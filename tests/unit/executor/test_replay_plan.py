"""What replay skips: jumped-over regions and abandoned atomic regions (SPEC §8)."""

from __future__ import annotations

from executor.host.cursor import ReplayCursor, replay_plan
from oplog import (
    BeginAtomicRegion, CompletePromise, Create, EndAtomicRegion, Error, ExportedFunctionCompleted,
    ExportedFunctionInvoked, ImportedFunctionInvoked, Interrupted, Jump, PendingWorkerInvocation, Suspend,
)

T = 0


def log(*entries) -> list:
    return list(enumerate(entries, start=1))


def create():
    return Create(timestamp=T, template_id="t", template_version=0, worker_name="w", account_id="a",
                  args=[], env=[])


def call(fn="f"):
    return ExportedFunctionInvoked(timestamp=T, function=fn, params=[])


def done():
    return ExportedFunctionCompleted(timestamp=T, result=[])


def host(name="wasi:random/random/get-random-u64", response=1):
    return ImportedFunctionInvoked(timestamp=T, function=name, response=response, kind="read-local")


def begin():
    return BeginAtomicRegion(timestamp=T)


def end(b):
    return EndAtomicRegion(timestamp=T, begin_index=b)


def test_a_region_open_at_the_end_after_a_crash_is_abandoned():
    entries = log(create(), call(), begin(), host(), host())
    skip, abandoned = replay_plan(entries)
    assert skip == {3, 4, 5} and abandoned == [(3, 5)]


def test_once_its_rerun_is_recorded_behind_a_jump_later_replays_see_everything_else():
    # The first run's Begin (3) never ends: the re-run writes its own Begin (7) and End.
    # Without the Jump, every later replay skipped from 3 to the end of the log: the
    # completed call (and everything after it) ran again.
    entries = log(create(), call(), begin(), host(), host(), Jump(timestamp=T, start=3, end=5),
                  begin(), host(), end(7), done(), call("g"), host(), done())
    skip, abandoned = replay_plan(entries)
    assert skip == {3, 4, 5} and abandoned == []
    cursor = ReplayCursor(entries)
    walked = []
    while (item := cursor.next()) is not None:
        walked.append(item[0])
    assert walked == [2, 7, 8, 9, 10, 11, 12, 13]


def test_a_region_the_worker_suspended_in_is_not_abandoned():
    # A long sleep or a promise inside the region: the worker is not failing, it waits.
    # Abandoning it re-ran the region on every wake, which suspended again: forever.
    for tail in ([Suspend(timestamp=T)],
                 [Suspend(timestamp=T), CompletePromise(timestamp=T, promise_idx=4, data=b"x")]):
        entries = log(create(), call(), begin(), host(), *tail)
        assert replay_plan(entries) == (set(), [])


def test_a_region_that_went_on_after_a_suspend_and_then_stopped_is_abandoned():
    entries = log(create(), call(), begin(), host(), Suspend(timestamp=T), host())
    assert replay_plan(entries) == ({3, 4, 5, 6}, [(3, 6)])
    entries = log(create(), call(), begin(), host(), Suspend(timestamp=T), Interrupted(timestamp=T))
    assert replay_plan(entries)[1] == [(3, 6)]


def test_an_interrupt_inside_a_region_abandons_it():
    entries = log(create(), call(), begin(), host(), Interrupted(timestamp=T))
    assert replay_plan(entries) == ({3, 4, 5}, [(3, 5)])


def test_a_failure_inside_a_region_skips_it_and_needs_no_jump():
    entries = log(create(), call(), begin(), host(), Error(timestamp=T, details="trap", retriable=True),
                  begin(), host(), end(6), done())
    assert replay_plan(entries) == ({3, 4}, [])


def test_nested_regions_that_ended_are_replayed():
    entries = log(create(), call(), begin(), begin(), host(), end(4), host(), end(3), done())
    assert replay_plan(entries) == (set(), [])


def test_a_call_queued_during_an_abandoned_region_is_bookkeeping_for_the_cursor():
    queued = PendingWorkerInvocation(timestamp=T, function="g", params=[])
    entries = log(create(), call(), begin(), host(), queued, host())
    skip, abandoned = replay_plan(entries)
    assert abandoned == [(3, 6)] and 5 in skip  # instance.replay still counts it as queued
