"""The index bucket on the local S3 store: created (idempotent), and usable."""

from __future__ import annotations

from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

PROBE_KEY = ".devstack-ready"


def ensure_bucket(endpoint_url: str, bucket: str, key_id: str, secret: str) -> None:
    client = _client(endpoint_url, key_id, secret)
    try:
        client.create_bucket(Bucket=bucket)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") not in {
            "BucketAlreadyOwnedByYou",
            "BucketAlreadyExists",
        }:
            raise


def stores_objects(endpoint_url: str, bucket: str, key_id: str, secret: str) -> bool:
    """The bucket is there and takes a write: what "started" means for the syncer. (`weed
    mini`'s S3 port answers before its volume server takes writes; on a loaded machine, seconds
    before.)"""
    try:
        ensure_bucket(endpoint_url, bucket, key_id, secret)
        client = _client(endpoint_url, key_id, secret)
        client.put_object(Bucket=bucket, Key=PROBE_KEY, Body=b"ready")
        client.delete_object(Bucket=bucket, Key=PROBE_KEY)
    except (BotoCoreError, ClientError):
        return False
    return True


def _client(endpoint_url: str, key_id: str, secret: str) -> Any:
    return boto3.client(
        "s3",
        endpoint_url=endpoint_url,
        region_name="us-east-1",
        aws_access_key_id=key_id,
        aws_secret_access_key=secret,
    )
