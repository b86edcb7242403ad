"""The settings base every service's `config.py` subclasses.

Names are the environment variables (case-insensitive); a `.env` file is read when present.
"""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class CommonSettings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    nats_url: str = "nats://127.0.0.1:4222"
    log_level: str = "INFO"
    log_json: bool = True
    service_name: str = "showcase"


class S3Settings(BaseSettings):
    """Object-store settings shared by the syncer, the agents and the operator tool.

    Works with AWS, Tigris and MinIO/SeaweedFS: set `s3_endpoint_url` for anything but AWS and
    `s3_addressing_style=path` for stores without virtual-host buckets.
    """

    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    s3_endpoint_url: str | None = "http://127.0.0.1:9000"
    s3_region: str = "us-east-1"
    s3_bucket: str = "showcase-index"
    s3_addressing_style: str = "path"
    aws_access_key_id: str | None = Field(default=None)
    aws_secret_access_key: str | None = Field(default=None)
    s3_prefix: str = "db"
    s3_connect_timeout_s: float = 3.0
    s3_read_timeout_s: float = 10.0
