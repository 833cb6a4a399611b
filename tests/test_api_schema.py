"""Property-based: schemathesis generates requests from the running API's own OpenAPI
document (valid and invalid parameters, missing and bad tokens) for every operation and
checks each answer: never a 5xx, and status, media type, headers and body all as the
document says."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
import pytest_asyncio
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import Case, GenerationMode
from schemathesis.checks import positive_data_acceptance
from schemathesis.core.result import Ok
from schemathesis.schemas import BaseSchema
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from devstack.postgres import EmbeddedPostgres
from tests.api_service import RunningApi, api_env, bearer, issue_token, running_api
from tests.conftest import created_database, db_settings_for, service_base_env
from tests.sales_data import SalesHistory
from vitrina_common.db.engine import create_engine, create_session_factory
from vitrina_common.db.models import ApiScope
from vitrina_common.services.tickets import Shopper, Tickets

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


@dataclass(frozen=True)
class ApiUnderTest:
    api: RunningApi
    token: str


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def api_under_test(
    postgres: EmbeddedPostgres,
    migrated_template: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[ApiUnderTest]:
    # One database and one API process for the module: every case runs against them.
    async with created_database(postgres, migrated_template) as database:
        engine = create_engine(db_settings_for(database))
        try:
            token = await _seed(create_session_factory(engine))
        finally:
            await engine.dispose()
        log_dir = tmp_path_factory.mktemp("api-schema")
        async with running_api(api_env(service_base_env(), database), log_dir) as api:
            yield ApiUnderTest(api, token)


async def _seed(session_factory: async_sessionmaker[AsyncSession]) -> str:
    history = SalesHistory(session_factory)
    at = datetime(2026, 11, 1, tzinfo=UTC)
    buyer = await history.user(1001, at)
    for n in range(3):
        product = await history.product(f"Product {n}", price=10 + n)
        await history.purchase(buyer, product, at, 10 + n, refunded=n == 2)
    for telegram_id in (1, 2, 3):
        await history.user(telegram_id, at)
        await Tickets(session_factory, staff_ids=()).open_ticket(Shopper(telegram_id), "Help")
    return await issue_token(session_factory, ApiScope.WRITE)


@pytest.fixture
def api_schema(api_under_test: ApiUnderTest) -> BaseSchema:
    return schemathesis.openapi.from_url(f"{api_under_test.api.url}/api/openapi.json")


# Listed, so a new endpoint the property test does not drive fails the coverage test below.
OPERATIONS = [
    "GET /api/v1/products",
    "GET /api/v1/products/{product_id}",
    "GET /api/v1/orders",
    "GET /api/v1/orders/{order_id}",
    "GET /api/v1/purchases",
    "GET /api/v1/purchases/{purchase_id}",
    "GET /api/v1/tickets",
    "GET /api/v1/tickets/{ticket_id}",
    "POST /api/v1/tickets",
    "POST /api/v1/tickets/{ticket_id}/comments",
    "POST /api/v1/tickets/{ticket_id}/transitions",
]
# Requests the document calls valid that may still be refused with 422, and why; only for
# those is "valid data is accepted" not checked (every other check still runs).
MAY_REFUSE_VALID_INPUT: dict[str, Callable[[Case[Any]], bool]] = {
    # The document cannot say which shoppers exist (an unknown author is a 422).
    "POST /api/v1/tickets": lambda _case: True,
    # A cursor is opaque: any string of its alphabet is well formed, few are cursors.
    "GET /api/v1/tickets": lambda case: "cursor" in (case.query or {}),
}


def test_the_property_test_drives_every_documented_operation(api_schema: BaseSchema) -> None:
    documented = set()
    for result in api_schema.get_all_operations():
        assert isinstance(result, Ok), result
        documented.add(result.ok().label)

    assert documented == set(OPERATIONS)


def _sent_as_generated(case: Case[Any]) -> bool:
    # A query parameter generated as null or [] is left out of the URL by the HTTP client, so
    # a negative case made only of one ("an unknown parameter") reaches the API valid.
    return all(value not in (None, []) for value in (case.query or {}).values())


# schemathesis' own pytest loader (schemathesis.pytest.from_fixture) does not run on pytest
# 9.2 (it sets Function._nodeid, which 9.2 removed), so each operation's strategy is driven
# by hypothesis here. Bounded: 50 examples per operation and mode, about a second each; no
# example database (no .hypothesis folder); no deadline (a fresh process's first requests
# are slower).
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
@pytest.mark.parametrize("label", OPERATIONS)
def test_every_answer_matches_the_openapi_document(
    api_schema: BaseSchema, api_under_test: ApiUnderTest, label: str, mode: GenerationMode
) -> None:
    operation = api_schema.find_operation_by_label(label)
    assert operation is not None

    @settings(
        max_examples=50,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    @given(case=operation.as_strategy(generation_mode=mode).filter(_sent_as_generated))
    def answers_as_documented(case: Case[Any]) -> None:
        may_refuse = MAY_REFUSE_VALID_INPUT.get(label)
        excluded = [positive_data_acceptance] if may_refuse and may_refuse(case) else []
        case.call_and_validate(headers=bearer(api_under_test.token), excluded_checks=excluded)

    answers_as_documented()
