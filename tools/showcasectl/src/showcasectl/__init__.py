"""showcasectl: the operator's view of the showcase pipeline, against the live bus."""
