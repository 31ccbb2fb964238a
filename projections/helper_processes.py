"""Processes of their own that evaluate a catch-up's chunks of candidacies for a read model (the
follow-up queue's items, analytics' rows): each reads the chunk's stored facts with a connection of its
own, moves them on by what the batch adds, runs the rules and returns the rows as COPY data, while
the process that stores them goes on with its transaction. Started with `spawn`: they share nothing
with that process's threads and connections."""

from __future__ import annotations

import multiprocessing
import multiprocessing.connection
import os
import threading
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from itertools import islice
from typing import Any, ClassVar, Generic, TypeVar
from uuid import UUID

import psycopg

from domain.policy import FollowUpPolicy
from infra.runtime import collect_garbage_less_often
from projections import candidacy_batches
from projections.candidacy_batches import ChunkToEvaluate, FactsInProgress, chunk_to_evaluate
from projections.paging import PagedView, conninfo_of

R = TypeVar("R")

# How many processes evaluate a batch's chunks. With the facts read and moved on where the rules run,
# the storing process mostly waits for the chunks to come back: a second helper uses the core the
# first leaves idle (the follow-up queue catching up on a million events on 2 cores: 81.4 s with two
# and 93.1 s with one, run one after the other; sending the chunks earlier, 75.3 s and 80.4 s).
HELPER_PROCESSES = 2

# Candidacies a helper process evaluates at a time: a batch's chunks are shared out between the helper
# processes, and smaller ones share out more evenly (the queue catching up on a million events: 81.4 s
# with chunks of 2,500 and two helpers, 86.9 s with 5,000, same hour). A batch with no more than
# candidacy_batches.WRITE_CHUNK changed candidacies is evaluated in the storing process, in one chunk.
HELPER_CHUNK = 2_500


# At most this many chunks of a batch are out at a time (sent, or back and not yet stored): a chunk is
# sent as another is taken back. Enough to keep the helpers busy while the storing process computes the
# relationship items. Sending all of a batch's chunks at once held their JSON, then their rows, in the
# storing process: on a million events, 8 at a time took the queue's catch-up from 466-469 MB to
# 440-445 MB (40.9-42.0 s, against 42.4 s), analytics' from 344 MB to 298 MB, all five's from
# 438-449 MB to 407 MB.
CHUNKS_AHEAD = 4 * HELPER_PROCESSES


# What a helper runs on a chunk: (its connection, the read model's schema, the chunk, the policy) -> rows.
Evaluate = Callable[[psycopg.Connection[Any], str, ChunkToEvaluate, FollowUpPolicy], R]


class HelperProcesses(Generic[R]):
    """HELPER_PROCESSES processes that run `evaluate` (a module-level function: it is sent by name) on
    chunks of a read model's candidacies; chunks come back in the order they were sent."""

    def __init__(self, policy: FollowUpPolicy, conninfo: dict[str, Any], schema: str, evaluate: Evaluate[R]) -> None:
        self._schema, self._evaluate = schema, evaluate
        self._executor = ProcessPoolExecutor(
            max_workers=HELPER_PROCESSES, mp_context=multiprocessing.get_context("spawn"),
            initializer=_start_helper, initargs=(policy, conninfo),
        )

    def evaluate(self, chunk: ChunkToEvaluate) -> Future[R]:
        return self._executor.submit(_evaluate_in_helper, self._evaluate, self._schema, chunk)

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)


class HelpedProjection:
    """What a projection (a PagedProjection) needs to have its catch-up's chunks evaluated by helper
    processes: started the first time a batch has several chunks, stopped at the head of the log."""

    policy: FollowUpPolicy
    view: PagedView
    # The subclass's evaluation of a chunk, as a staticmethod: run in the helpers, or here (see evaluate_batch).
    evaluate_in_helpers: ClassVar[Evaluate[Any]]
    _helpers: HelperProcesses[Any] | None = None

    def helpers(self) -> HelperProcesses[Any]:
        if self._helpers is None:
            self._helpers = HelperProcesses(self.policy, conninfo_of(self.view.datastore), self.view.datastore.schema,
                                            type(self).evaluate_in_helpers)
        return self._helpers

    def evaluate_batch(
        self, connection: psycopg.Connection[Any], changed: Sequence[UUID], opened: Mapping[UUID, tuple[Any, ...]],
        moved: Mapping[UUID, FactsInProgress], contacts: bytes = b"[]",
    ) -> Iterator[tuple[Sequence[UUID], Any]]:
        """Each chunk of a batch's changed candidacies with its rows, in order (see chunk_to_evaluate for
        the arguments). With several chunks (catching up), the first CHUNKS_AHEAD are sent to the helper
        processes before this returns, so they evaluate while the caller goes on, and one more each time
        the caller takes one back; up to WRITE_CHUNK (following the log), they are one chunk, evaluated
        here on the transaction's connection."""
        if len(changed) <= candidacy_batches.WRITE_CHUNK:
            evaluated = type(self).evaluate_in_helpers(connection, self.view.datastore.schema,
                                                       chunk_to_evaluate(changed, opened, moved, contacts), self.policy)
            return iter([(changed, evaluated)])
        helpers = self.helpers()
        chunks = iter([changed[start:start + HELPER_CHUNK] for start in range(0, len(changed), HELPER_CHUNK)])
        evaluating: deque[tuple[Sequence[UUID], Future[Any]]] = deque()

        def send(count: int) -> None:
            for chunk in islice(chunks, count):
                evaluating.append((chunk, helpers.evaluate(chunk_to_evaluate(chunk, opened, moved, contacts))))

        def in_order() -> Iterator[tuple[Sequence[UUID], Any]]:
            while evaluating:
                chunk, future = evaluating.popleft()
                evaluated = future.result()
                send(1)
                yield chunk, evaluated

        send(CHUNKS_AHEAD)
        return in_order()

    def at_head(self) -> None:
        """Following the log, a page's candidacies fit in one chunk: the helper processes are not needed."""
        self.close()

    def close(self) -> None:
        if self._helpers is not None:
            self._helpers.close()
            self._helpers = None


# The name the helpers' connections go by in pg_stat_activity.
HELPER_APPLICATION_NAME = "followup-projection-helper"

# The helper process's state, set once as it starts.
_policy: FollowUpPolicy | None = None
_conninfo: dict[str, Any] = {}
_connection: psycopg.Connection[Any] | None = None


def _start_helper(policy: FollowUpPolicy, conninfo: dict[str, Any]) -> None:
    global _policy, _conninfo
    threading.Thread(target=_exit_with_parent, daemon=True, name="exit-with-parent").start()
    _policy, _conninfo = policy, conninfo
    collect_garbage_less_often()  # as the process it works for (the facts and items of a chunk are many objects)
    _reconnect()


def _reconnect() -> psycopg.Connection[Any]:
    global _connection
    if _connection is not None:
        _connection.close()
    # Autocommit: each read sees what the batches before this one committed.
    _connection = psycopg.connect(**_conninfo, autocommit=True, application_name=HELPER_APPLICATION_NAME)
    return _connection


def _exit_with_parent() -> None:
    """End the helper when the process it works for ends, however it ends: killed (SIGKILL, the
    machine's OOM killer), that process never says so, and the helper would wait for work forever."""
    parent = multiprocessing.parent_process()
    assert parent is not None
    multiprocessing.connection.wait([parent.sentinel])
    os._exit(0)


def _evaluate_in_helper(evaluate: Evaluate[R], schema: str, chunk: ChunkToEvaluate) -> R:
    assert _policy is not None and _connection is not None
    try:
        return evaluate(_connection, schema, chunk, _policy)
    except psycopg.OperationalError:
        # The connection was lost (the server restarted, the backend was terminated): the helper outlives
        # the batch that failed with it, and the chunk only reads, so it is read once more on a new one.
        # Where the server is still away, that fails too, and the batch with it.
        return evaluate(_reconnect(), schema, chunk, _policy)
