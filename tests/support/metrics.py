"""Reading a service's `/metrics` page in tests.

The registry of a process is shared by every app a test builds in it, so tests compare two
scrapes (`moved`) rather than read absolute values; gauges are the exception.
"""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]
"""Sample values by (sample name, its labels): label order in the text does not matter."""


def parse_samples(text: str) -> Samples:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def sample(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def moved(before: Samples, after: Samples, name: str, **labels: str) -> float:
    """How much `name{labels}` changed from one scrape to the next."""
    return sample(after, name, **labels) - sample(before, name, **labels)
