"""The message bus: connection, declarations, publishing and the one consumer loop."""

from showcase_common.backoff import Backoff
from showcase_common.bus.connection import connect, server_urls
from showcase_common.bus.consumer import Consumer, ConsumerOptions, Delivery
from showcase_common.bus.errors import BusUnavailable, HandlerError, PermanentError, RetryableError
from showcase_common.bus.publisher import EventPublisher, Publisher
from showcase_common.bus.spec import ConsumerSpec, consumer_options
from showcase_common.bus.streams import ensure_consumer, ensure_kv, ensure_stream

__all__ = [
    "Backoff",
    "BusUnavailable",
    "Consumer",
    "ConsumerOptions",
    "ConsumerSpec",
    "Delivery",
    "EventPublisher",
    "HandlerError",
    "PermanentError",
    "Publisher",
    "RetryableError",
    "connect",
    "consumer_options",
    "ensure_consumer",
    "ensure_kv",
    "ensure_stream",
    "server_urls",
]
