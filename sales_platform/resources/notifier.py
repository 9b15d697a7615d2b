"""The door for messages leaving the platform: reports and alerts, over one or more channels.

* outbox: each message as an `.eml` file in a folder (the local default; open it in any mail
  client, or look at it in a test);
* smtp: a mail server, with STARTTLS or implicit TLS and a login from the environment;
* sns: Amazon SNS topics, one for reports and one for alerts, as the old system had.

A channel that fails is tried again with growing pauses; a refusal that will not change (a 5xx
from the mail server, a topic that does not exist) is not, and neither is what SNS's client has
already retried itself. The result says, channel by channel, what went out and what did not, so
a caller can send the rest later without sending anything twice.
"""

from __future__ import annotations

import abc
import datetime as dt
import logging
import os
import smtplib
import ssl
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sales_platform.domain.outgoing_message import Audience, OutgoingMessage, sns_body, sns_subject, to_email
from sales_platform.domain.utc_time import compact_utc_stamp

log = logging.getLogger("sales_platform.notifier")

DEFAULT_RETRY_DELAYS = (2.0, 10.0, 30.0)  # seconds before the 2nd, 3rd and 4th attempt
SMTP_TIMEOUT_SECONDS = 30


class DeliveryError(Exception):
    """A message not delivered; `permanent`: trying again here will not help (a refusal that
    will not change, or a failure the channel's client has already retried)."""

    def __init__(self, message: str, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


class Channel(abc.ABC):
    name: str

    @abc.abstractmethod
    def send(self, message: OutgoingMessage) -> str:
        """Deliver the message; return where it went. Raise DeliveryError."""


# --------------------------------------------------------------------------- outbox


class OutboxChannel(Channel):
    name = "outbox"

    def __init__(self, folder: Path, sender: str, recipients: Mapping[Audience, list[str]]) -> None:
        self.folder = Path(folder)
        self.sender = sender
        self.recipients = recipients

    def send(self, message: OutgoingMessage) -> str:
        mail = to_email(message, self.sender, self.recipients[message.audience])
        stamp = compact_utc_stamp(dt.datetime.now(dt.UTC))
        target = self.folder / f"{stamp}-{message.name}.eml"
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            # Written aside and renamed, so whoever watches the folder never opens half a message.
            staged = self.folder / f".{uuid.uuid4().hex}.tmp"
            staged.write_bytes(mail.as_bytes())
            os.replace(staged, target)
        except OSError as error:
            raise DeliveryError(f"cannot write to the outbox {self.folder}: {error}") from error
        return str(target)


# --------------------------------------------------------------------------- SMTP


class SmtpChannel(Channel):
    name = "smtp"

    def __init__(
        self,
        host: str,
        port: int,
        security: str,
        sender: str,
        recipients: Mapping[Audience, list[str]],
        username: str | None = None,
        password: str | None = None,
        timeout: float = SMTP_TIMEOUT_SECONDS,
    ) -> None:
        self.host, self.port, self.security = host, port, security
        self.sender = sender
        self.recipients = recipients
        self.username, self.password = username, password
        self.timeout = timeout

    def _connect(self) -> smtplib.SMTP:
        # The system's trusted certificates (SSL_CERT_FILE points elsewhere for a private CA),
        # with host name checking: the password never goes to a server we cannot verify.
        context = ssl.create_default_context()
        if self.security == "tls":
            return smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=context)
        connection = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        if self.security == "starttls":
            connection.ehlo()
            connection.starttls(context=context)
            connection.ehlo()
        return connection

    def send(self, message: OutgoingMessage) -> str:
        recipients = self.recipients[message.audience]
        mail = to_email(message, self.sender, recipients)
        where = f"{self.host}:{self.port}"
        try:
            with self._connect() as connection:
                if self.username is not None:
                    connection.login(self.username, self.password or "")
                refused = connection.send_message(mail, to_addrs=recipients)
        except smtplib.SMTPRecipientsRefused as error:
            codes = [code for code, _ in error.recipients.values()]
            raise DeliveryError(
                f"{where} refused every recipient: {_refusals(error.recipients)}",
                permanent=all(c >= 500 for c in codes),
            ) from error
        except smtplib.SMTPNotSupportedError as error:
            raise DeliveryError(f"{where} does not support {self.security.upper()}: {error}", permanent=True) from error
        except smtplib.SMTPResponseException as error:
            text = (
                error.smtp_error.decode(errors="replace")
                if isinstance(error.smtp_error, bytes)
                else str(error.smtp_error)
            )
            raise DeliveryError(
                f"{where} answered {error.smtp_code} {text}", permanent=error.smtp_code >= 500
            ) from error
        except ssl.SSLError as error:
            raise DeliveryError(f"TLS with {where} failed: {error}", permanent=True) from error
        except (smtplib.SMTPException, OSError) as error:
            raise DeliveryError(f"cannot deliver to {where}: {error or type(error).__name__}") from error
        accepted = [r for r in recipients if r not in refused]
        detail = f"{len(accepted)} recipient(s) via {where}"
        if refused:
            detail += f"; refused: {_refusals(refused)}"
        return detail


def _refusals(refused: Mapping[str, tuple[int, bytes]]) -> str:
    return ", ".join(
        f"{address} ({code} {reply.decode(errors='replace')})" for address, (code, reply) in refused.items()
    )


# --------------------------------------------------------------------------- SNS


# Transient, but answered with a status botocore's standard mode does not retry.
_NOT_RETRIED_BY_BOTOCORE = frozenset({"KMSThrottling"})


class SnsChannel(Channel):
    """Publishes through a boto3 client in botocore's standard retry mode, which retries
    throttling, 5xx answers and dropped connections itself: what still fails after those is
    final here, except a KMS throttling of the encrypted topic, a 400 botocore does not retry."""

    name = "sns"

    def __init__(self, client: Any, topics: Mapping[Audience, str]) -> None:
        self.client = client
        self.topics = topics

    def send(self, message: OutgoingMessage) -> str:
        from botocore.exceptions import BotoCoreError, ClientError

        topic = self.topics[message.audience]
        try:
            response = self.client.publish(
                TopicArn=topic, Subject=sns_subject(message.subject), Message=sns_body(message)
            )
        except ClientError as error:
            code = str(error.response.get("Error", {}).get("Code"))
            raise DeliveryError(
                f"SNS refused the message for {topic}: {error}", permanent=code not in _NOT_RETRIED_BY_BOTOCORE
            ) from error
        except BotoCoreError as error:
            raise DeliveryError(f"cannot reach SNS for {topic}: {error}", permanent=True) from error
        return f"{topic} (message {response.get('MessageId')})"


def make_sns_client(region: str, endpoint_url: str | None = None) -> Any:
    import boto3

    from sales_platform.resources.aws_config import client_config

    return boto3.session.Session().client(
        "sns", region_name=region, endpoint_url=endpoint_url, config=client_config(10)
    )


# --------------------------------------------------------------------------- the notifier


@dataclass
class DeliveryResult:
    delivered: dict[str, str] = field(default_factory=dict)  # channel -> where it went
    failed: dict[str, str] = field(default_factory=dict)  # channel -> why not

    @property
    def ok(self) -> bool:
        return not self.failed

    def summary(self) -> str:
        parts = [f"{name}: {detail}" for name, detail in self.delivered.items()]
        parts += [f"{name} FAILED: {reason}" for name, reason in self.failed.items()]
        return "; ".join(parts) or "no channel"


class Notifier:
    def __init__(
        self,
        channels: Sequence[Channel],
        retry_delays: Sequence[float] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.channels = list(channels)
        self.retry_delays = tuple(DEFAULT_RETRY_DELAYS if retry_delays is None else retry_delays)
        self._sleep = sleep

    @property
    def channel_names(self) -> list[str]:
        return [channel.name for channel in self.channels]

    def send(self, message: OutgoingMessage, only: Iterable[str] | None = None, brief: bool = False) -> DeliveryResult:
        """Send over every channel (or those named in `only`), each retried on its own. `brief`
        keeps only the first retry, for callers with a deadline (a sensor tick)."""
        wanted = set(only) if only is not None else None
        delays = self.retry_delays[:1] if brief else self.retry_delays
        result = DeliveryResult()
        for channel in self.channels:
            if wanted is not None and channel.name not in wanted:
                continue
            try:
                result.delivered[channel.name] = self._send_with_retries(channel, message, delays)
            except DeliveryError as error:
                result.failed[channel.name] = str(error)
        return result

    def _send_with_retries(self, channel: Channel, message: OutgoingMessage, delays: Sequence[float]) -> str:
        attempts = len(delays) + 1
        for attempt in range(1, attempts + 1):
            try:
                return channel.send(message)
            except DeliveryError as error:
                if error.permanent or attempt == attempts:
                    log.error(
                        "%s: %s not delivered after %d attempt(s): %s", channel.name, message.name, attempt, error
                    )
                    raise DeliveryError(
                        f"{error} (after {attempt} attempt{'s' if attempt > 1 else ''})", error.permanent
                    ) from error
                delay = delays[attempt - 1]
                log.warning("%s: %s not delivered (%s); trying again in %g s", channel.name, message.name, error, delay)
                self._sleep(delay)
        raise AssertionError("unreachable")
