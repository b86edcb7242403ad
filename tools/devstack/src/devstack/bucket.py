"""Create the index bucket on the local S3 store (idempotent)."""

from __future__ import annotations

import boto3
from botocore.exceptions import ClientError


def ensure_bucket(endpoint_url: str, bucket: str, key_id: str, secret: str) -> None:
    client = boto3.client(
        "s3",
        endpoint_url=endpoint_url,
        region_name="us-east-1",
        aws_access_key_id=key_id,
        aws_secret_access_key=secret,
    )
    try:
        client.create_bucket(Bucket=bucket)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") not in {
            "BucketAlreadyOwnedByYou",
            "BucketAlreadyExists",
        }:
            raise
