"""The message bus: connection, declarations, publishing and the one consumer loop.

Its names are imported on first use: `showcase_common.metrics` reads `bus.metrics`, and a
process without NATS (a machine agent) must not load nats-py for it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from showcase_common.backoff import Backoff
    from showcase_common.bus.connection import connect, server_urls
    from showcase_common.bus.consumer import Consumer, ConsumerOptions, Delivery
    from showcase_common.bus.errors import (
        BusUnavailable,
        HandlerError,
        PermanentError,
        RetryableError,
    )
    from showcase_common.bus.publisher import EventPublisher, Publisher
    from showcase_common.bus.spec import ConsumerSpec, consumer_options
    from showcase_common.bus.streams import ensure_consumer, ensure_kv, ensure_stream

_HOME = {
    "Backoff": "showcase_common.backoff",
    "connect": "showcase_common.bus.connection",
    "server_urls": "showcase_common.bus.connection",
    "Consumer": "showcase_common.bus.consumer",
    "ConsumerOptions": "showcase_common.bus.consumer",
    "Delivery": "showcase_common.bus.consumer",
    "BusUnavailable": "showcase_common.bus.errors",
    "HandlerError": "showcase_common.bus.errors",
    "PermanentError": "showcase_common.bus.errors",
    "RetryableError": "showcase_common.bus.errors",
    "EventPublisher": "showcase_common.bus.publisher",
    "Publisher": "showcase_common.bus.publisher",
    "ConsumerSpec": "showcase_common.bus.spec",
    "consumer_options": "showcase_common.bus.spec",
    "ensure_consumer": "showcase_common.bus.streams",
    "ensure_kv": "showcase_common.bus.streams",
    "ensure_stream": "showcase_common.bus.streams",
}

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


def __getattr__(name: str) -> Any:
    """Each name from its module, imported when first asked for (see the docstring)."""
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(home), name)
