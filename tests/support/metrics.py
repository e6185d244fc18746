"""Reading a Prometheus text file back into numbers, with prometheus_client's own parser."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

Key = tuple[str, tuple[tuple[str, str], ...]]


def samples(text: str) -> dict[Key, float]:
    """``{(sample name, sorted labels): value}`` for every sample in ``text``."""
    out: dict[Key, float] = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def value(text: str, name: str, **labels: str) -> float:
    """The value of one sample; KeyError naming what was asked when it is absent."""
    key = (name, tuple(sorted(labels.items())))
    got = samples(text)
    if key not in got:
        raise KeyError(f"no sample {key} in the metrics; have {sorted(got)}")
    return got[key]
