"""One trace per thing a shopper or an admin does, across processes: the real bot and
worker export OTLP to a test receiver while an admin adds a product (update → outbox →
NATS publish → the worker's job) and a shopper buys one (invoice → pre-checkout →
payment → outbox → sendDocument); the log lines of the purchase carry its trace id."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from devstack.nats import NatsServer
from devstack.postgres import EmbeddedPostgres
from tests.fakes.otlp import OtlpReceiver, ReceivedSpan, receiving
from tests.observability import ADMIN, ObservedShop, observed_shop, purchase
from tests.pipeline import jpeg_bytes

pytestmark = [pytest.mark.postgres, pytest.mark.nats, pytest.mark.slow]

SHOPPER = 7101
BOT, WORKER = "vitrina-bot", "vitrina-worker"
SERVER, CLIENT, PRODUCER, CONSUMER = 2, 3, 4, 5  # OTLP span kinds


@pytest_asyncio.fixture(loop_scope="session")
async def traced(
    postgres: EmbeddedPostgres, migrated_template: str, nats_server: NatsServer, tmp_path: Path
) -> AsyncIterator[tuple[ObservedShop, OtlpReceiver]]:
    async with receiving() as receiver:
        env = {
            "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url,
            # Export every 100 ms instead of 5 s, so the test waits less.
            "OTEL_BSP_SCHEDULE_DELAY": "100",
        }
        async with observed_shop(
            postgres, migrated_template, nats_server, tmp_path, extra_env=env
        ) as shop:
            yield shop, receiver


def sql_spans(spans: list[ReceivedSpan], service: str) -> list[ReceivedSpan]:
    return [s for s in spans if s.service == service and s.attributes.get("db.system")]


async def test_a_purchase_is_one_trace_from_the_payment_update_to_the_document(
    traced: tuple[ObservedShop, OtlpReceiver],
) -> None:
    shop, receiver = traced

    await purchase(shop, SHOPPER)
    # The relay's span ends last (after the send and the commit): then all are exported.
    relay = await receiver.wait_for("outbox telegram.send_original")

    trace = receiver.in_trace(relay.trace_id)
    by_name = {span.name: span for span in trace}
    payment = by_name["telegram update message"]
    sent = by_name["telegram sendDocument"]
    assert (payment.service, payment.kind, payment.parent_span_id) == (BOT, CONSUMER, "")
    assert payment.attributes["telegram.update.type"] == "message"
    # The user appears hashed, never as the id.
    assert str(SHOPPER) not in json.dumps([span.attributes for span in trace], default=str)
    assert len(str(payment.attributes["telegram.user.hash"])) == 16
    # Through the outbox table: the relay's span continues the payment's trace.
    assert relay.parent_span_id == payment.span_id
    assert sent.parent_span_id == relay.span_id
    assert sent.kind == CLIENT
    # The payment's statements (the order lock, the purchase, the outbox row) are in it.
    statements = [str(s.attributes.get("db.statement", "")) for s in sql_spans(trace, BOT)]
    assert any("INSERT INTO purchases" in sql for sql in statements)
    assert any("INSERT INTO outbox" in sql for sql in statements)
    # The invoice and the pre-checkout were traces of their own, also complete.
    [invoice] = receiver.named("telegram sendInvoice")
    [verdict] = receiver.named("telegram answerPreCheckoutQuery")
    assert invoice.trace_id != sent.trace_id
    assert {s.name for s in receiver.in_trace(verdict.trace_id)} >= {
        "telegram update pre_checkout_query"
    }
    # The purchase's log lines carry the trace id.
    logged = _log_lines(shop.logs / "bot.log", sent.trace_id)
    assert {"payment recorded", "original delivered"} & {line["event"] for line in logged}


async def test_an_upload_is_one_trace_through_the_outbox_nats_and_the_worker(
    traced: tuple[ObservedShop, OtlpReceiver],
) -> None:
    shop, receiver = traced

    shop.telegram.push_document(ADMIN, jpeg_bytes(5, (800, 600)), "Sunset | 150 | Landscapes")
    await shop.telegram.wait_for_call("sendPhoto", timeout_s=60)
    publish = await receiver.wait_for("jobs.preview.render publish")
    render = await receiver.wait_for("render preview")
    ready = await receiver.wait_for("events.preview.ready process")
    send_photo = await receiver.wait_for("telegram sendPhoto")

    trace = receiver.in_trace(publish.trace_id)
    [upload] = [s for s in trace if s.name == "telegram update message"]
    [consume] = [s for s in trace if s.service == WORKER and s.parent_span_id == publish.span_id]
    assert (upload.service, publish.kind) == (BOT, PRODUCER)
    # The outbox row is relayed by whichever relay claims it first: the bot's, or the one
    # the worker runs for its import jobs (the outbox table is shared). Either continues
    # the upload's trace.
    assert publish.service in {BOT, WORKER}
    assert (consume.kind, render.parent_span_id) == (CONSUMER, consume.span_id)
    assert render.trace_id == upload.trace_id
    # Back in the bot: the preview.ready event's handling and the preview's upload.
    assert (ready.service, ready.trace_id) == (BOT, upload.trace_id)
    assert (send_photo.service, send_photo.trace_id) == (BOT, upload.trace_id)
    assert sql_spans(trace, BOT)
    assert sql_spans(trace, WORKER)
    # The worker's log lines of the job carry the same trace id.
    assert _log_lines(shop.logs / "worker.log", upload.trace_id)


def _log_lines(path: Path, trace_id: str) -> list[dict[str, object]]:
    lines = [json.loads(line) for line in path.read_text().splitlines() if line.startswith("{")]
    return [line for line in lines if line.get("trace_id") == trace_id]
