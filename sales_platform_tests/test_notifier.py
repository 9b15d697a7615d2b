"""Delivery channels against real servers: an SMTP server on 127.0.0.1 (plain, STARTTLS with a
login, implicit TLS, busy then accepting, refusing for good), Amazon SNS in moto read back
through an SQS subscription, and the outbox folder. Notifiers are built from settings, as the
platform builds them."""

from __future__ import annotations

import email
import email.policy
import json
import time
from pathlib import Path

import boto3
import pytest

from sales_platform.domain.outgoing_message import SNS_MESSAGE_LIMIT_BYTES, InlineImage, OutgoingMessage
from sales_platform.resources import notifier as notifier_module
from sales_platform.resources.aws_config import MAX_ATTEMPTS
from sales_platform.resources.factory import build_notifier
from sales_platform_tests.fake_aws import REGION, fake_aws
from sales_platform_tests.smtp_server import PASSWORD, USERNAME, RecordingHandler, make_certificates, smtp_server

PNG = b"\x89PNG\r\n\x1a\n" + b"chart bytes"
REPORT = OutgoingMessage(
    audience="report",
    subject="Daily Sales Report - 2025-11-27",
    text="DAILY SALES REPORT\nNet sales: $2,234.75\n",
    html='<html><body><p>Net sales: $2,234.75</p><img src="cid:net-sales-by-store@sales-platform"></body></html>',
    images=(InlineImage("net-sales-by-store@sales-platform", "net_sales_by_store.png", PNG),),
    name="report-2025-11-27",
)
ALERT = OutgoingMessage(audience="alert", subject="Run failed: store_sales", text="A run failed.\n", name="alert-run-1")


@pytest.fixture(autouse=True)
def no_waiting(monkeypatch: pytest.MonkeyPatch) -> None:
    """The production pauses between attempts (2, 10, 30 s) shortened; the count stays."""
    monkeypatch.setattr(notifier_module, "DEFAULT_RETRY_DELAYS", (0.05, 0.05, 0.05))


def smtp_settings(make_settings, port: int, security: str = "none", **extra):
    values = {
        "NOTIFY_CHANNELS": "smtp",
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(port),
        "SMTP_SECURITY": security,
        "REPORT_SENDER": "Sales Platform <reports@example.com>",
        "REPORT_RECIPIENTS": "manager@example.com,owner@example.com",
        "ALERT_RECIPIENTS": "oncall@example.com",
    }
    return make_settings(**{**values, **extra})


# --------------------------------------------------------------------------- SMTP


def test_smtp_delivers_a_multipart_report_with_inline_charts(make_settings) -> None:
    handler = RecordingHandler()
    with smtp_server(handler) as port:
        result = build_notifier(smtp_settings(make_settings, port)).send(REPORT)

    assert result.ok, result.summary()
    [mail] = handler.messages
    assert handler.envelopes == [("reports@example.com", ["manager@example.com", "owner@example.com"])]
    assert mail["Subject"] == "Daily Sales Report - 2025-11-27"
    assert mail.get_content_type() == "multipart/alternative"
    text_part, related = mail.get_payload()
    assert text_part.get_content_type() == "text/plain" and "Net sales: $2,234.75" in text_part.get_content()
    assert related.get_content_type() == "multipart/related"
    html_part, image = related.get_payload()
    assert 'src="cid:net-sales-by-store@sales-platform"' in html_part.get_content()
    assert image["Content-ID"] == "<net-sales-by-store@sales-platform>"
    assert image.get_content_type() == "image/png" and image.get_content() == PNG


def test_alerts_go_to_the_alert_recipients(make_settings) -> None:
    handler = RecordingHandler()
    with smtp_server(handler) as port:
        assert build_notifier(smtp_settings(make_settings, port)).send(ALERT).ok
    assert handler.envelopes == [("reports@example.com", ["oncall@example.com"])]


@pytest.mark.parametrize(
    "refusal", ["451 4.7.1 Greylisted, please try again later", "421 4.3.2 Service not available, closing channel"]
)
def test_a_busy_server_is_tried_again_until_it_accepts(make_settings, refusal: str) -> None:
    handler = RecordingHandler(refusals=[refusal, refusal])
    with smtp_server(handler) as port:
        result = build_notifier(smtp_settings(make_settings, port)).send(REPORT)

    assert result.ok, result.summary()
    assert handler.attempts == 3
    assert len(handler.messages) == 1  # delivered once, not once per attempt


@pytest.mark.slow
def test_a_server_that_stays_busy_fails_after_every_attempt_naming_the_reply(make_settings) -> None:
    handler = RecordingHandler(refusals=["451 4.3.0 Try again later"] * 10)
    with smtp_server(handler) as port:
        result = build_notifier(smtp_settings(make_settings, port)).send(REPORT)

    assert not result.ok
    assert handler.attempts == len(notifier_module.DEFAULT_RETRY_DELAYS) + 1
    assert "451" in result.failed["smtp"] and "after 4 attempts" in result.failed["smtp"]


def test_a_permanent_refusal_is_not_retried(make_settings) -> None:
    handler = RecordingHandler(refusals=["554 5.7.1 Message rejected as spam"] * 10)
    with smtp_server(handler) as port:
        result = build_notifier(smtp_settings(make_settings, port)).send(REPORT)

    assert handler.attempts == 1
    assert "554" in result.failed["smtp"]


def test_an_unreachable_server_fails_with_the_address(make_settings) -> None:
    from sales_platform_tests.command_line import free_port

    port = free_port()  # nothing listens there
    result = build_notifier(smtp_settings(make_settings, port)).send(ALERT)
    assert f"127.0.0.1:{port}" in result.failed["smtp"]


def test_starttls_with_a_login_over_a_verified_certificate(make_settings, tmp_path: Path, monkeypatch) -> None:
    certificates = make_certificates(tmp_path / "tls")
    monkeypatch.setenv("SSL_CERT_FILE", str(certificates.ca_file))  # the private CA, as a deployment would
    handler = RecordingHandler()
    with smtp_server(
        handler,
        tls_context=certificates.server_context(),
        require_starttls=True,
        auth_required=True,
        authenticator=handler.authenticate,
    ) as port:
        settings = smtp_settings(make_settings, port, "starttls", SMTP_USERNAME=USERNAME, SMTP_PASSWORD=PASSWORD)
        result = build_notifier(settings).send(REPORT)

    assert result.ok, result.summary()
    assert handler.logins == [USERNAME]
    assert len(handler.messages) == 1


def test_starttls_refuses_a_certificate_it_cannot_verify_before_logging_in(make_settings, tmp_path: Path) -> None:
    certificates = make_certificates(tmp_path / "tls")  # its CA is not trusted here
    handler = RecordingHandler()
    with smtp_server(
        handler, tls_context=certificates.server_context(), require_starttls=True, authenticator=handler.authenticate
    ) as port:
        settings = smtp_settings(make_settings, port, "starttls", SMTP_USERNAME=USERNAME, SMTP_PASSWORD=PASSWORD)
        result = build_notifier(settings).send(REPORT)

    assert "TLS" in result.failed["smtp"] and "certificate" in result.failed["smtp"]
    assert handler.logins == [] and handler.attempts == 0


def test_implicit_tls(make_settings, tmp_path: Path, monkeypatch) -> None:
    certificates = make_certificates(tmp_path / "tls")
    monkeypatch.setenv("SSL_CERT_FILE", str(certificates.ca_file))
    handler = RecordingHandler()
    with smtp_server(handler, ssl_context=certificates.server_context()) as port:
        result = build_notifier(smtp_settings(make_settings, port, "tls")).send(ALERT)

    assert result.ok, result.summary()
    assert handler.messages[0]["Subject"] == "Run failed: store_sales"


# --------------------------------------------------------------------------- SNS


@pytest.fixture
def sns_topics(monkeypatch: pytest.MonkeyPatch):
    """Report and alert topics in moto, each with an SQS queue subscribed to read back what an
    email subscriber would get."""
    with fake_aws(monkeypatch):
        sns = boto3.client("sns", region_name=REGION)
        sqs = boto3.client("sqs", region_name=REGION)
        topics, queues = {}, {}
        for audience in ("report", "alert"):
            topic = sns.create_topic(Name=f"sales-{audience}")["TopicArn"]
            queue_url = sqs.create_queue(QueueName=f"sales-{audience}-inbox")["QueueUrl"]
            queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
                "QueueArn"
            ]
            sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
            topics[audience], queues[audience] = topic, queue_url

        def received(audience: str) -> list[dict]:
            messages = sqs.receive_message(QueueUrl=queues[audience], MaxNumberOfMessages=10).get("Messages", [])
            return [json.loads(message["Body"]) for message in messages]

        yield topics, received


def sns_settings(make_settings, topics):
    return make_settings(
        NOTIFY_CHANNELS="sns",
        SNS_REPORT_TOPIC_ARN=topics["report"],
        SNS_ALERT_TOPIC_ARN=topics["alert"],
        AWS_REGION=REGION,
    )


@pytest.mark.slow
def test_sns_publishes_the_text_part_to_the_report_topic_and_alerts_to_the_alert_topic(
    make_settings, sns_topics
) -> None:
    topics, received = sns_topics
    notifier = build_notifier(sns_settings(make_settings, topics))

    assert notifier.send(REPORT).ok
    assert notifier.send(ALERT).ok

    [report] = received("report")
    assert report["TopicArn"] == topics["report"]
    assert report["Subject"] == "Daily Sales Report - 2025-11-27"
    assert report["Message"] == REPORT.text  # the text part, no HTML, no images
    [alert] = received("alert")
    assert alert["Subject"] == "Run failed: store_sales" and alert["Message"] == "A run failed.\n"


def test_sns_limits_are_respected_for_a_huge_report(make_settings, sns_topics) -> None:
    topics, received = sns_topics
    lines = [f"{n:06d} Store 0001: net sales far below the usual day, by a lot ({'x' * 60})" for n in range(5000)]
    huge = OutgoingMessage(
        audience="report",
        subject="Daily Sales Report - 2025-11-27 " + "with a subject far longer than any SNS subject may be " * 3,
        text="\n".join(lines) + "\n",
        truncation_note="[cut here; the full report is in the bucket]",
    )
    assert len(huge.text.encode()) > SNS_MESSAGE_LIMIT_BYTES

    result = build_notifier(sns_settings(make_settings, topics)).send(huge)

    assert result.ok, result.summary()
    [published] = received("report")
    assert len(published["Message"].encode()) <= SNS_MESSAGE_LIMIT_BYTES
    assert published["Message"].endswith("[cut here; the full report is in the bucket]\n")
    assert published["Message"].startswith(lines[0])
    assert len(published["Subject"]) < 100 and published["Subject"].startswith("Daily Sales Report - 2025-11-27")


def test_a_missing_topic_fails_without_retrying(make_settings, sns_topics) -> None:
    topics, _ = sns_topics
    gone = topics["report"].rsplit(":", 1)[0] + ":deleted-topic"
    calls = []
    notifier = build_notifier(sns_settings(make_settings, {**topics, "report": gone}))
    channel = notifier.channels[0]
    publish = channel.client.publish
    channel.client.publish = lambda **kw: (calls.append(kw), publish(**kw))[1]

    result = notifier.send(REPORT)

    assert "deleted-topic" in result.failed["sns"]
    assert len(calls) == 1


class _Body:
    def __init__(self, data: bytes) -> None:
        self.data = data

    def stream(self, **_: object):
        yield self.data


def _answering(client, status: int, code: str) -> list[str]:
    """Every Publish of `client` answered `status` with error `code`; returns the requests made."""
    from botocore.awsrequest import AWSResponse

    sent: list[str] = []

    def answer(request, **_):
        sent.append(request.url)
        body = f"<ErrorResponse><Error><Code>{code}</Code><Message>no</Message></Error></ErrorResponse>".encode()
        return AWSResponse(request.url, status, {}, _Body(body))

    client.meta.events.register("before-send.sns.Publish", answer)
    return sent


def test_sns_that_stays_unavailable_is_retried_by_botocore_alone(make_settings, sns_topics, monkeypatch) -> None:
    """One retry layer: botocore's standard mode retries the 503s; the notifier adds none on top."""
    from botocore.retries.standard import ExponentialBackoff

    topics, _ = sns_topics
    notifier = build_notifier(sns_settings(make_settings, topics))
    sent = _answering(notifier.channels[0].client, 503, "ServiceUnavailable")
    monkeypatch.setattr(ExponentialBackoff, "delay_amount", lambda self, context: 0)  # the count, not the wait

    result = notifier.send(REPORT)

    assert "ServiceUnavailable" in result.failed["sns"] and "after 1 attempt" in result.failed["sns"]
    assert len(sent) == MAX_ATTEMPTS  # botocore's 10 attempts in all, not 10 for each of the notifier's


def test_a_kms_throttled_topic_is_retried_by_the_notifier(make_settings, sns_topics) -> None:
    """KMS throttling of an encrypted topic is a 400 botocore does not retry: the notifier does."""
    topics, _ = sns_topics
    notifier = build_notifier(sns_settings(make_settings, topics))
    sent = _answering(notifier.channels[0].client, 400, "KMSThrottling")

    result = notifier.send(REPORT)

    assert "KMSThrottling" in result.failed["sns"] and "after 4 attempts" in result.failed["sns"]
    assert len(sent) == 4


# --------------------------------------------------------------------------- outbox


def test_the_outbox_holds_each_message_as_an_eml_file(make_settings) -> None:
    settings = make_settings(REPORT_RECIPIENTS="manager@example.com")
    notifier = build_notifier(settings)

    assert notifier.send(REPORT).ok
    time.sleep(0.01)
    assert notifier.send(ALERT).ok

    files = sorted(settings.outbox_path.glob("*.eml"))
    assert [f.name.split("-", 1)[1] for f in files] == ["report-2025-11-27.eml", "alert-run-1.eml"]
    report = email.message_from_bytes(files[0].read_bytes(), policy=email.policy.default)
    assert report["To"] == "manager@example.com" and report["Subject"] == REPORT.subject
    assert report.get_body(("plain",)).get_content() == REPORT.text
    assert "cid:net-sales-by-store@sales-platform" in report.get_body(("html",)).get_content()
    assert not list(settings.outbox_path.glob(".*"))  # no half-written leftovers


def test_several_channels_each_get_the_message_and_fail_on_their_own(make_settings) -> None:
    handler = RecordingHandler(refusals=["550 5.1.1 Mailbox unavailable"])
    with smtp_server(handler) as port:
        settings = smtp_settings(make_settings, port, NOTIFY_CHANNELS="outbox,smtp")
        result = build_notifier(settings).send(REPORT)

    assert list(result.delivered) == ["outbox"] and list(result.failed) == ["smtp"]
    assert len(list(settings.outbox_path.glob("*.eml"))) == 1
