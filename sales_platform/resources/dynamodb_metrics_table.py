"""The metrics table on DynamoDB: the single table the old serverless system already used.

Built on the low-level client rather than the resource API because clients are thread-safe
and resources are not, and the API serves requests from a thread pool. A resource is accepted
too; its client is used.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import boto3
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from sales_platform.resources.aws_config import client_config
from sales_platform.resources.metrics_table import Item, MetricsTable
from sales_platform.resources.table_values import from_stored, to_storable

INDEX_NAME = "GSI1"
_BATCH_SIZE = 25  # BatchWriteItem's limit
_UNPROCESSED_RETRIES = 10
_READ_TIMEOUT_SECONDS = 10

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


def table_definition(table_name: str) -> dict[str, Any]:
    """The keyword arguments of `create_table` for the platform's table.

    Terraform creates the same table on AWS; keep the two identical.
    """
    return {
        "TableName": table_name,
        "AttributeDefinitions": [
            {"AttributeName": name, "AttributeType": "S"} for name in ("PK", "SK", "GSI1PK", "GSI1SK")
        ],
        "KeySchema": [
            {"AttributeName": "PK", "KeyType": "HASH"},
            {"AttributeName": "SK", "KeyType": "RANGE"},
        ],
        "GlobalSecondaryIndexes": [
            {
                "IndexName": INDEX_NAME,
                "KeySchema": [
                    {"AttributeName": "GSI1PK", "KeyType": "HASH"},
                    {"AttributeName": "GSI1SK", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
        "BillingMode": "PAY_PER_REQUEST",
    }


def make_dynamodb_client(region: str, endpoint_url: str | None = None) -> Any:
    """A DynamoDB client with patient retries (throttling included) and short timeouts."""
    session = boto3.session.Session()  # the default session is not thread-safe
    return session.client(
        "dynamodb", region_name=region, endpoint_url=endpoint_url, config=client_config(_READ_TIMEOUT_SECONDS)
    )


def _client_of(resource_or_client: Any) -> Any:
    # A service resource carries its client at .meta.client; a client's .meta has no client.
    return getattr(resource_or_client.meta, "client", resource_or_client)


def create_table_if_missing(table_name: str, resource_or_client: Any) -> bool:
    """Create the table as `table_definition` says and wait until it is active; True if it
    was created, False if it already existed. For local DynamoDB and tests; AWS uses Terraform."""
    client = _client_of(resource_or_client)
    try:
        client.create_table(**table_definition(table_name))
    except ClientError as error:
        if error.response["Error"]["Code"] != "ResourceInUseException":
            raise
        created = False
    else:
        created = True
    client.get_waiter("table_exists").wait(TableName=table_name)
    return created


def _converts_values_itself(client: Any) -> bool:
    """Whether boto3's resource layer has hooked into this client.

    Building a DynamoDB resource registers handlers on its client that turn Python values
    into typed attribute values on every call and back on every response, for anyone using
    that client, including code handed only `resource.meta.client`. Values typed by us would
    then be typed twice. The client's type does not tell, so ask its event system what it
    does to a parameter.
    """
    params: dict[str, Any] = {"TableName": "probe", "Key": {"PK": "probe"}}
    client.meta.events.emit(
        "before-parameter-build.dynamodb.GetItem",
        params=params,
        model=client.meta.service_model.operation_model("GetItem"),
        context={},
    )
    return params["Key"]["PK"] != "probe"


def _unchanged(value: Any) -> Any:
    return value


class DynamoDbMetricsTable(MetricsTable):
    def __init__(self, table_name: str, resource_or_client: Any, page_size: int | None = None) -> None:
        """`page_size` caps items per Query page; None lets DynamoDB fill 1 MB pages. Small
        pages are for tests that must see pagination happen."""
        self.table_name = table_name
        self.client = _client_of(resource_or_client)
        self.page_size = page_size
        self.description = f"dynamodb table {table_name}"
        if _converts_values_itself(self.client):
            self._encode, self._decode = _unchanged, _unchanged
        else:
            self._encode, self._decode = _serializer.serialize, _deserializer.deserialize

    def _to_attributes(self, item: Mapping[str, Any]) -> dict[str, Any]:
        return {name: self._encode(value) for name, value in item.items()}

    def _from_attributes(self, attributes: Mapping[str, Any]) -> Item:
        return from_stored({name: self._decode(value) for name, value in attributes.items()})

    def _key(self, pk: str, sk: str) -> dict[str, Any]:
        return {"PK": self._encode(pk), "SK": self._encode(sk)}

    def put_items(self, items: Iterable[Mapping[str, Any]]) -> int:
        stored = [to_storable(item) for item in items]  # check all before writing any
        # One batch must not name a key twice; the last version of an item wins, as it would
        # with one put after the other.
        latest = {(item["PK"], item["SK"]): item for item in stored}
        self._batch_write([{"PutRequest": {"Item": self._to_attributes(item)}} for item in latest.values()])
        return len(stored)

    def delete_items(self, keys: Iterable[tuple[str, str]]) -> int:
        keys = [(pk, sk) for pk, sk in keys]
        unique = dict.fromkeys(keys)
        self._batch_write([{"DeleteRequest": {"Key": self._key(pk, sk)}} for pk, sk in unique])
        return len(keys)

    def _batch_write(self, requests: list[dict[str, Any]]) -> None:
        for start in range(0, len(requests), _BATCH_SIZE):
            pending = {self.table_name: requests[start : start + _BATCH_SIZE]}
            # Throttling of the whole call is retried by botocore; items DynamoDB declines
            # within a successful call come back as UnprocessedItems and are ours to resend.
            for attempt in range(_UNPROCESSED_RETRIES + 1):
                pending = self.client.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}
                if not pending:
                    break
                if attempt == _UNPROCESSED_RETRIES:
                    left = len(pending.get(self.table_name, []))
                    raise RuntimeError(f"{self.table_name}: {left} writes still unprocessed after {attempt} retries")
                time.sleep(random.uniform(0, min(5.0, 0.05 * 2**attempt)))

    def get_item(self, pk: str, sk: str) -> Item | None:
        # Strongly consistent: a read right after a write (the API after a run) sees it.
        response = self.client.get_item(TableName=self.table_name, Key=self._key(pk, sk), ConsistentRead=True)
        item = response.get("Item")
        return self._from_attributes(item) if item else None

    def _pages(self, **query: Any) -> Iterator[dict[str, Any]]:
        if self.page_size:
            query["Limit"] = self.page_size
        while True:
            response = self.client.query(TableName=self.table_name, **query)
            yield from response.get("Items", [])
            # A page can end early (1 MB, or Limit) with more to come; only the absence of
            # LastEvaluatedKey means the end.
            last = response.get("LastEvaluatedKey")
            if not last:
                return
            query["ExclusiveStartKey"] = last

    def _key_condition(self, key: str, value: str, sort_key: str, prefix: str) -> dict[str, Any]:
        values: dict[str, Any] = {":pk": self._encode(value)}
        condition = f"{key} = :pk"
        if prefix:  # begins_with refuses an empty string
            condition += f" AND begins_with({sort_key}, :p)"
            values[":p"] = self._encode(prefix)
        return {"KeyConditionExpression": condition, "ExpressionAttributeValues": values}

    def query(self, pk: str, sk_prefix: str = "") -> list[Item]:
        # Strongly consistent, so replace_items finds every item written just before it.
        pages = self._pages(**self._key_condition("PK", pk, "SK", sk_prefix), ConsistentRead=True)
        return [self._from_attributes(item) for item in pages]

    def query_sort_keys(self, pk: str, sk_prefix: str = "") -> list[str]:
        pages = self._pages(
            **self._key_condition("PK", pk, "SK", sk_prefix), ProjectionExpression="SK", ConsistentRead=True
        )
        return [self._decode(item["SK"]) for item in pages]

    def query_index(self, gsi1pk: str, gsi1sk_prefix: str = "") -> list[Item]:
        # Global indexes offer only eventually consistent reads.
        pages = self._pages(IndexName=INDEX_NAME, **self._key_condition("GSI1PK", gsi1pk, "GSI1SK", gsi1sk_prefix))
        return [self._from_attributes(item) for item in pages]
