"""The FastAPI application: routers, errors, and the in-process projections, opened and closed with the app."""

from __future__ import annotations

import gc
import json
import logging
import re
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.deps import ReadSide
from api.errors import PROBLEM_JSON, correlation_id_var, install_error_handlers, internal_error_body, problem_body
from api.idempotency import IdempotencyStore
from api.metrics import ApiMetrics
from api.routes import (
    analytics, audit, candidacies, candidates, contacts, erasure, follow_ups, network, operations, recruiters, reports,
)
from domain.application import FollowupApplication
from infra.eventstore import database_url, one_process_at_a_time, open_application
from infra.recorder import check_connection
from infra.runtime import collect_garbage_less_often
from infra.settings import Settings, get_settings
from projections.paging import LogFollower, ProjectionWorker
from projections.registry import open_workers
from projections.versions import bring_up_to_date, read_models_of_another_version

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 64 * 1024
_CORRELATION_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await run_in_threadpool(_open, app, settings)
        try:
            yield
        finally:
            await run_in_threadpool(_close, app)

    app = FastAPI(
        title="Followup",
        version="1",
        summary="Which interview follow-up is owed, to whom, by when, and why.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.metrics = ApiMetrics()
    install_error_handlers(app)
    for module in (
        recruiters, candidates, contacts, candidacies, follow_ups, network, analytics, audit, reports, operations,
        erasure,
    ):
        app.include_router(module.router)
    app.add_middleware(RequestGuard, metrics=app.state.metrics)
    return app


# How often an API process that applies no events looks again for read models rebuilt to its version.
REBUILD_POLL_S = 1.0


def _open(app: FastAPI, settings: Settings) -> None:
    application, workers, pool, idempotency = _open_under_lock(settings)
    app.state.gc_thresholds = gc.get_threshold()
    collect_garbage_less_often()  # before the projections start catching up
    # Without them the workers still tell the API how far the projections (run elsewhere) have got.
    if settings.run_projections:
        # One thread reads the log once per page for every read model.
        follower = LogFollower(application, workers)
        follower.start()
        app.state.follower = follower
    app.state.application = application
    app.state.idempotency = idempotency
    app.state.read_side = ReadSide(application, workers, pool, settings.schema_name)
    # What is loaded by now (modules, schemas, calendars, pools) lives as long as the process. Left in the
    # collector's oldest generation, each full collection walks all of it while holding the GIL, which
    # stalled every request for 100-150 ms a few times a minute under load; frozen, it is not walked.
    gc.collect()
    gc.freeze()


def _open_under_lock(
    settings: Settings,
) -> tuple[FollowupApplication, list[ProjectionWorker], ConnectionPool[Any], IdempotencyStore]:
    """The application, its read models' workers, the read pool and the idempotency store, opened
    one process at a time. A process that applies no events waits until every read model is
    built by its version: an older version's tables are not its to read, nor to create new ones
    beside, and a projection process of its release rebuilds them."""
    announced = False
    while True:
        with one_process_at_a_time(settings):
            application = open_application(settings)
            if settings.run_projections:
                # Before any worker opens its tables: a read model built by another version is rebuilt first.
                bring_up_to_date(application, policy=settings.policy())
                stale = []
            else:
                stale = read_models_of_another_version(application)
            if not stale:
                workers = open_workers(application, policy=settings.policy())
                # Checked before each use, so connections the server dropped are replaced, not handed out;
                # a bounded wait for a free one, so a busy or absent database is a 503, not a hang.
                pool: ConnectionPool[Any] = ConnectionPool(
                    database_url(settings), min_size=1, max_size=4, open=True, timeout=settings.db_pool_timeout,
                    check=check_connection, kwargs={"autocommit": True, "row_factory": dict_row},
                )
                idempotency = IdempotencyStore(pool, settings.schema_name)
                idempotency.create_table()
                return application, workers, pool, idempotency
            application.close()
        # Outside the lock, which the projection process takes to rebuild them.
        if not announced:
            log.warning("read models %s were built by another version of their projections: waiting for "
                        "`followup projections run` of this release to rebuild them", ", ".join(stale))
            announced = True
        time.sleep(REBUILD_POLL_S)


def _close(app: FastAPI) -> None:
    read_side: ReadSide = app.state.read_side
    follower: LogFollower | None = getattr(app.state, "follower", None)
    if follower is not None:
        follower.stop()
    for worker in read_side.workers:
        worker.close()
    read_side.pool.close()
    app.state.application.close()
    gc.unfreeze()  # so what this app held can be collected, where the process goes on (tests)
    gc.set_threshold(*app.state.gc_thresholds)


class RequestGuard:
    """Around every request: a correlation id, the body size limit, metrics, and the last-resort 500."""

    def __init__(self, app: ASGIApp, metrics: ApiMetrics, max_body: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.metrics = metrics
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started_at = time.perf_counter()
        headers = Headers(scope=scope)
        given = headers.get("x-correlation-id", "")
        correlation_id = given if _CORRELATION_ID.match(given) else uuid.uuid4().hex
        scope.setdefault("state", {})["correlation_id"] = correlation_id
        token = correlation_id_var.set(correlation_id)
        status = 500
        response_started = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                status = message["status"]
                response_started = True
                message["headers"] = [*message.get("headers", []), (b"x-correlation-id", correlation_id.encode())]
            await send(message)

        try:
            body = await self._read_body(headers, receive)
            if body is None:
                await _send_problem(send_with_id, 413, f"the request body is larger than {self.max_body} bytes")
                return
            delivered = False

            async def replay() -> Message:
                # The body was read whole (it is small): hand it over, then pass on what follows (disconnect).
                nonlocal delivered
                if not delivered:
                    delivered = True
                    return {"type": "http.request", "body": body, "more_body": False}
                return await receive()

            await self.app(scope, replay, send_with_id)
        except Exception:
            log.exception("unexpected error, correlation id %s, %s %s", correlation_id, scope["method"], scope["path"])
            if not response_started:
                await _send(send_with_id, 500, internal_error_body(correlation_id))
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            self.metrics.observe(scope["method"], template, status, time.perf_counter() - started_at)
            correlation_id_var.reset(token)

    async def _read_body(self, headers: Headers, receive: Receive) -> bytes | None:
        """The whole body, or None when it is over the limit (announced or streamed)."""
        length = headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_body):
            return None
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks)


async def _send(send: Send, status: int, body: bytes) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", PROBLEM_JSON.encode()), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


async def _send_problem(send: Send, status: int, detail: str) -> None:
    await _send(send, status, json.dumps(problem_body(status, detail)).encode())
