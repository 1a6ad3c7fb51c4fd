"""Helpers of the observability tests: parse a scrape, read the documented metric names."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from prometheus_client.metrics_core import Metric
from prometheus_client.parser import text_string_to_metric_families

ROOT = Path(__file__).resolve().parents[2]
OPERATIONS_DOC = ROOT / "docs" / "operations.md"
_DOC_ROW = re.compile(r"^\|\s*`(tronpay_[a-z_]+)`")
_SUFFIXES = ("_total", "_bucket", "_count", "_sum", "_created")


@dataclass(frozen=True)
class Scrape:
    families: dict[str, Metric]

    @classmethod
    def parse(cls, text: str) -> Scrape:
        return cls({f.name: f for f in text_string_to_metric_families(text)})

    def value(self, sample_name: str, **labels: str) -> float:
        """The sum of the samples named ``sample_name`` whose labels include ``labels``."""
        total = 0.0
        for family in self.families.values():
            for sample in family.samples:
                if sample.name == sample_name and all(
                    sample.labels.get(k) == v for k, v in labels.items()
                ):
                    total += sample.value
        return total

    def label_values(self, family: str, label: str) -> set[str]:
        return {s.labels[label] for s in self.families[family].samples if label in s.labels}

    def exports(self, name: str) -> bool:
        """``name`` (a family or one of its sample names, e.g. ``..._total``, ``..._bucket``)
        is in this scrape."""
        if name in self.families:
            return True
        for suffix in _SUFFIXES:
            if name.endswith(suffix) and name.removesuffix(suffix) in self.families:
                return True
        return False


def documented_metrics() -> list[str]:
    """The metric names of docs/operations.md's metrics table (first column)."""
    names = []
    for line in OPERATIONS_DOC.read_text().splitlines():
        match = _DOC_ROW.match(line)
        if match:
            names.append(match.group(1))
    return names


def metric_names_in(text: str) -> set[str]:
    return set(re.findall(r"\btronpay_[a-z_]+\b", text))
