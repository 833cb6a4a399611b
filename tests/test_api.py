"""The API service, running: tokens and scopes, problem details, the shop's data with
filters and cursor paging, its OpenAPI document, probes and metrics."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from devstack.ports import free_port
from tests.api_service import PROBLEM, RunningApi, api_env, client, issue_token, running_api
from tests.sales_data import SalesHistory
from tests.services import probe, start_service, wait_for_status
from vitrina_common.db.models import ApiToken, Order, OrderStatus, Product, ProductStatus
from vitrina_common.services.api_tokens import RevokeApiToken

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


@pytest_asyncio.fixture(loop_scope="session")
async def api(
    database: str, clean_env: dict[str, str], tmp_path: Path
) -> AsyncIterator[RunningApi]:
    async with running_api(api_env(clean_env, database, page_size="3"), tmp_path) as running:
        yield running


@pytest_asyncio.fixture(loop_scope="session")
async def reader(
    api: RunningApi, session_factory: async_sessionmaker[AsyncSession]
) -> AsyncIterator[httpx.AsyncClient]:
    async with client(api, await issue_token(session_factory)) as http:
        yield http


def assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["instance"] == response.request.url.path
    assert {"type", "title", "detail"} <= body.keys()
    return body


async def test_a_request_without_a_token_gets_401_with_a_bearer_challenge(api: RunningApi) -> None:
    async with client(api) as anonymous:
        response = await anonymous.get("/api/v1/products")

    body = assert_problem(response, 401)
    assert body["type"] == "/api/problems/missing-token"
    assert response.headers["www-authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    "authorization",
    [
        "Bearer vit_not-a-token-we-issued",
        "Bearer garbage",
        "Basic dXNlcjpwYXNz",
    ],
)
async def test_an_unknown_or_malformed_token_gets_401(api: RunningApi, authorization: str) -> None:
    async with client(api) as http:
        response = await http.get("/api/v1/products", headers={"Authorization": authorization})

    assert_problem(response, 401)
    assert response.headers["www-authenticate"].startswith("Bearer")


async def test_a_revoked_token_gets_401_from_the_next_request_on(
    api: RunningApi, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    token = await issue_token(session_factory)
    async with client(api, token) as http:
        assert (await http.get("/api/v1/products")).status_code == 200
        async with session_factory() as session:
            token_id = await session.scalar(select(ApiToken.id))
        assert token_id is not None
        assert await RevokeApiToken(session_factory)(token_id)

        response = await http.get("/api/v1/products")

    body = assert_problem(response, 401)
    assert body["type"] == "/api/problems/invalid-token"
    assert 'error="invalid_token"' in response.headers["www-authenticate"]


async def test_last_used_at_is_written_once_per_interval_not_per_request(
    reader: httpx.AsyncClient, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    async def last_used() -> datetime | None:
        async with session_factory() as session:
            return await session.scalar(select(ApiToken.last_used_at))

    assert await last_used() is None
    await reader.get("/api/v1/products")
    first = await last_used()
    for _ in range(3):
        await reader.get("/api/v1/products")

    assert first is not None
    assert await last_used() == first


async def test_products_answer_what_the_catalog_holds(
    reader: httpx.AsyncClient, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    history = SalesHistory(session_factory)
    sunset = await history.product("Sunset", price=70, category="Landscapes")

    listed = (await reader.get("/api/v1/products")).json()
    one = (await reader.get(f"/api/v1/products/{sunset}")).json()

    assert listed == {"items": [one], "next_cursor": None}
    assert one["id"] == sunset
    assert one["title"] == "Sunset"
    assert one["price_stars"] == 70
    assert one["status"] == "ready"
    assert one["category_title"] == "Landscapes"
    assert "original_key" not in one


async def test_products_filter_by_category_status_and_creation_time(
    reader: httpx.AsyncClient, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    history = SalesHistory(session_factory)
    sea = await history.product("Sea", category="Landscapes")
    await history.product("Cat", category="Animals")
    draft = await history.product("Draft", category="Landscapes")
    async with session_factory() as session, session.begin():
        product = await session.get(Product, draft)
        assert product is not None
        product.status = ProductStatus.DRAFT
        product.created_at = T0 - timedelta(days=400)
        landscapes = product.category_id

    def ids(response: httpx.Response) -> list[int]:
        assert response.status_code == 200, response.text
        return [item["id"] for item in response.json()["items"]]

    by_category = await reader.get("/api/v1/products", params={"category_id": landscapes})
    assert ids(by_category) == [sea, draft]
    by_status = await reader.get("/api/v1/products", params={"status": "draft"})
    assert ids(by_status) == [draft]
    since = await reader.get("/api/v1/products", params={"since": T0.isoformat()})
    assert draft not in ids(since)
    assert sea in ids(since)


async def _walk(http: httpx.AsyncClient, path: str, **params: Any) -> AsyncIterator[list[int]]:
    cursor: str | None = None
    while True:
        query = {**params, **({"cursor": cursor} if cursor else {})}
        response = await http.get(path, params=query)
        assert response.status_code == 200, response.text
        page = response.json()
        yield [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            return


async def test_cursor_paging_visits_every_product_once_while_products_are_added(
    reader: httpx.AsyncClient, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    history = SalesHistory(session_factory)
    existing = [await history.product(f"Product {n}") for n in range(7)]
    added: list[int] = []
    seen: list[int] = []
    pages = 0
    async for ids in _walk(reader, "/api/v1/products"):
        seen += ids
        pages += 1
        assert len(ids) <= 3  # APP_CONF__API__PAGE_SIZE of this service
        if pages == 1:
            added.append(await history.product("Added while paging"))

    assert seen == existing + added
    assert pages == 3


async def test_a_page_holds_limit_items_and_the_last_page_has_no_cursor(
    reader: httpx.AsyncClient, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    history = SalesHistory(session_factory)
    products = [await history.product(f"P{n}") for n in range(4)]

    first = (await reader.get("/api/v1/products", params={"limit": 4})).json()
    beyond = (
        await reader.get("/api/v1/products", params={"limit": 1, "cursor": "f_________8"})
    ).json()

    assert [item["id"] for item in first["items"]] == products
    assert first["next_cursor"] is None
    assert beyond == {"items": [], "next_cursor": None}


async def _seed_orders_and_purchases(sessions: async_sessionmaker[AsyncSession]) -> dict[str, int]:
    history = SalesHistory(sessions)
    ann = await history.user(1001, T0, username="ann")
    bob = await history.user(1002, T0, username="bob")
    print_ = await history.product("Print", price=40)
    poster = await history.product("Poster", price=90)
    ann_print = await history.purchase(ann, print_, T0 + timedelta(days=1), 40)
    bob_poster = await history.purchase(bob, poster, T0 + timedelta(days=2), 90, refunded=True)
    async with sessions() as session, session.begin():
        pending = Order(
            user_id=ann, product_id=poster, price_stars=90, status=OrderStatus.PENDING,
            invoice_payload="pending-ann", expires_at=T0 + timedelta(days=3),
            created_at=T0 + timedelta(days=3),
        )  # fmt: skip
        session.add(pending)
        await session.flush()
        pending_id = pending.id
    return {
        "ann": ann, "bob": bob, "print": print_, "poster": poster,
        "ann_print": ann_print, "bob_poster": bob_poster, "pending": pending_id,
    }  # fmt: skip


async def test_purchases_filter_by_user_status_product_and_time(
    reader: httpx.AsyncClient, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    rows = await _seed_orders_and_purchases(session_factory)

    async def ids(**params: Any) -> list[int]:
        response = await reader.get("/api/v1/purchases", params=params)
        assert response.status_code == 200, response.text
        return [item["id"] for item in response.json()["items"]]

    assert await ids() == [rows["ann_print"], rows["bob_poster"]]
    assert await ids(user_id=rows["ann"]) == [rows["ann_print"]]
    assert await ids(telegram_user_id=1002) == [rows["bob_poster"]]
    assert await ids(status="refunded") == [rows["bob_poster"]]
    assert await ids(product_id=rows["print"]) == [rows["ann_print"]]
    assert await ids(since=(T0 + timedelta(days=2)).isoformat()) == [rows["bob_poster"]]
    bob_poster = (await reader.get(f"/api/v1/purchases/{rows['bob_poster']}")).json()
    assert bob_poster["telegram_user_id"] == 1002
    assert bob_poster["price_stars"] == 90
    assert bob_poster["status"] == "refunded"
    assert bob_poster["refunded_at"] is not None


async def test_orders_list_paid_and_pending_orders_by_user_and_status(
    reader: httpx.AsyncClient, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    rows = await _seed_orders_and_purchases(session_factory)

    ann_orders = (await reader.get("/api/v1/orders", params={"user_id": rows["ann"]})).json()
    pending = (await reader.get("/api/v1/orders", params={"status": "pending"})).json()
    one = (await reader.get(f"/api/v1/orders/{rows['pending']}")).json()

    assert [(o["product_id"], o["status"]) for o in ann_orders["items"]] == [
        (rows["print"], "paid"),
        (rows["poster"], "pending"),
    ]
    assert [order["id"] for order in pending["items"]] == [rows["pending"]]
    assert one["telegram_user_id"] == 1001
    assert one["paid_at"] is None


@pytest.mark.parametrize(
    "path", ["/api/v1/products/999", "/api/v1/orders/999", "/api/v1/purchases/999"]
)
async def test_an_unknown_item_is_a_404_problem(reader: httpx.AsyncClient, path: str) -> None:
    body = assert_problem(await reader.get(path), 404)

    assert body["type"] == "/api/problems/not-found"


async def test_an_unknown_route_and_a_wrong_method_are_problems_too(
    reader: httpx.AsyncClient,
) -> None:
    assert_problem(await reader.get("/api/v1/nothing-here"), 404)
    wrong_method = await reader.delete("/api/v1/products")
    assert_problem(wrong_method, 405)
    assert wrong_method.headers["allow"] == "GET"


async def test_invalid_parameters_are_a_422_problem_naming_each_field(
    reader: httpx.AsyncClient,
) -> None:
    response = await reader.get(
        "/api/v1/purchases",
        params={"limit": 0, "cursor": "not a cursor", "status": "stolen", "since": "yesterday"},
    )

    body = assert_problem(response, 422)
    assert body["type"] == "/api/problems/validation"
    fields = {tuple(error["loc"]) for error in body["errors"]}
    assert fields == {
        ("query", "limit"),
        ("query", "cursor"),
        ("query", "status"),
        ("query", "since"),
    }


async def test_a_limit_above_the_configured_maximum_is_refused(reader: httpx.AsyncClient) -> None:
    response = await reader.get("/api/v1/products", params={"limit": 201})

    assert_problem(response, 422)


async def test_openapi_and_swagger_ui_are_served_without_a_token(api: RunningApi) -> None:
    async with client(api) as anonymous:
        document = (await anonymous.get("/api/openapi.json")).json()
        docs = await anonymous.get("/api/docs")

    assert set(document["paths"]) >= {
        "/api/v1/products",
        "/api/v1/products/{product_id}",
        "/api/v1/orders",
        "/api/v1/orders/{order_id}",
        "/api/v1/purchases",
        "/api/v1/purchases/{purchase_id}",
    }
    unauthorized = document["paths"]["/api/v1/products"]["get"]["responses"]["401"]
    assert list(unauthorized["content"]) == [PROBLEM]
    assert docs.status_code == 200
    assert "/api/openapi.json" in docs.text


async def test_probes_and_metrics_are_served_on_the_health_port(
    api: RunningApi, reader: httpx.AsyncClient
) -> None:
    await reader.get("/api/v1/products")

    assert await probe(api.health_port, "/healthz") == 200
    assert await probe(api.health_port, "/readyz") == 200
    async with httpx.AsyncClient() as http:
        metrics = (await http.get(f"http://127.0.0.1:{api.health_port}/metrics")).text
    assert 'http_route="/api/v1/products"' in metrics
    assert "http_server_request_duration_seconds_count" in metrics


async def test_sigterm_stops_the_service_promptly_and_cleanly(
    database: str, clean_env: dict[str, str], tmp_path: Path
) -> None:
    async with running_api(api_env(clean_env, database), tmp_path) as running:
        started = asyncio.get_running_loop().time()
        code = await running.process.stop(timeout_s=15)

    assert code == 0
    assert asyncio.get_running_loop().time() - started < 5
    assert "Traceback" not in running.log_file.read_text()


async def test_a_misspelt_filter_is_refused_rather_than_ignored(reader: httpx.AsyncClient) -> None:
    response = await reader.get("/api/v1/orders", params={"stauts": "paid"})

    body = assert_problem(response, 422)
    assert [error["loc"] for error in body["errors"]] == [["query", "stauts"]]


async def test_without_its_database_the_api_stays_up_unready_and_stops_cleanly(
    clean_env: dict[str, str], tmp_path: Path
) -> None:
    nobody_listens = f"postgresql://postgres@127.0.0.1:{free_port()}/vitrina"
    env = api_env(clean_env, nobody_listens)
    process, health_port = await start_service("api", env, tmp_path)
    try:
        await wait_for_status(health_port, "/healthz", 200, process)
        await asyncio.sleep(1)
        assert process.running
        assert await probe(health_port, "/readyz") == 503
    finally:
        code = await process.stop(timeout_s=15)

    assert code == 0
    assert "Traceback" not in (tmp_path / "api.log").read_text()
