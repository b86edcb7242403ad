"""syncer: consistent, verified index snapshots published to S3 as generations that only grow."""
