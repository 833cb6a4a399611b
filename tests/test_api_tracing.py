"""The API service traces every request: a caller's ``traceparent`` is continued, the span is
named by the route template (no ids), and the SQL the request ran is in the same trace."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.api_service import api_env, client, issue_token, running_api
from tests.fakes.otlp import receiving

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

SERVER = 2  # OTLP span kind
CALLER_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
CALLER_SPAN = "00f067aa0ba902b7"


async def test_a_request_continues_the_callers_trace_with_its_sql(
    database: str,
    clean_env: dict[str, str],
    session_factory: async_sessionmaker[AsyncSession],
    tmp_path: Path,
) -> None:
    token = await issue_token(session_factory)
    async with receiving() as receiver:
        env = {
            **api_env(clean_env, database),
            "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url,
            "OTEL_BSP_SCHEDULE_DELAY": "100",
        }
        async with running_api(env, tmp_path) as api, client(api, token) as http:
            traceparent = f"00-{CALLER_TRACE}-{CALLER_SPAN}-01"
            response = await http.get(
                "/api/v1/products/424242", headers={"traceparent": traceparent}
            )
            assert response.status_code == 404
            span = await receiver.wait_for("GET /api/v1/products/{product_id}")

    assert (span.kind, span.trace_id, span.parent_span_id) == (SERVER, CALLER_TRACE, CALLER_SPAN)
    assert span.attributes["http.route"] == "/api/v1/products/{product_id}"
    assert span.attributes["http.response.status_code"] == 404
    sql = [s for s in receiver.in_trace(CALLER_TRACE) if s.attributes.get("db.system")]
    assert sql, "the request's statements are spans of the caller's trace"
    assert all(s.service == "vitrina-api" for s in sql)
