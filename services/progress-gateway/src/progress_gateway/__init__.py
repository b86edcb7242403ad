"""progress-gateway: projects the pipeline's step events into per-request progress (a JetStream
key-value bucket) and streams each request's progress to its owner's browser over WebSocket."""
