"""Operations: liveness (no key needed) and Prometheus metrics."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from api.deps import Application, CurrentRecruiter, Reads
from api.metrics import CONTENT_TYPE_LATEST

router = APIRouter(tags=["operations"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/metrics", response_class=Response)
def metrics(request: Request, application: Application, reads: Reads, recruiter: CurrentRecruiter) -> Response:
    """Requests by route template and status, latency, and each projection's lag in events."""
    body = request.app.state.metrics.render(application, reads.workers)
    return Response(body, media_type=CONTENT_TYPE_LATEST)
