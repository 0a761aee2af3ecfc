"""Counters: kept in-process (tests, ``grokgate serve``) and, inside AWS Lambda, published to
CloudWatch as embedded-metric-format lines through Powertools' ``single_metric``.

Powertools is imported on the first metric published, never at import time (cold starts).
"""

from __future__ import annotations

import os
import threading
from collections import Counter

from grokgate.logs import get_logger

NAMESPACE = "grokgate"
log = get_logger("metrics")

_counts: Counter[tuple[str, tuple[tuple[str, str], ...]]] = Counter()
_lock = threading.Lock()


def count(name: str, value: int = 1, **dimensions: str) -> None:
    """Add ``value`` to the counter ``name`` with ``dimensions``; never raises."""
    key = (name, tuple(sorted(dimensions.items())))
    with _lock:
        _counts[key] += value
    if os.environ.get("AWS_LAMBDA_FUNCTION_NAME"):
        _publish(name, value, dimensions)


def total(name: str, **dimensions: str) -> int:
    """This process's count of ``name`` over every series that has ``dimensions``."""
    wanted = set(dimensions.items())
    with _lock:
        return sum(
            n for (metric, dims), n in _counts.items() if metric == name and wanted <= set(dims)
        )


def snapshot() -> list[tuple[str, dict[str, str], int]]:
    """Every counter of this process: (name, dimensions, count), sorted (the console shows
    them)."""
    with _lock:
        items = sorted(_counts.items())
    return [(name, dict(dims), n) for (name, dims), n in items]


def _publish(name: str, value: int, dimensions: dict[str, str]) -> None:
    try:
        from aws_lambda_powertools.metrics import MetricUnit, single_metric

        with single_metric(
            name=name, unit=MetricUnit.Count, value=value, namespace=NAMESPACE
        ) as metric:
            for key, dim in dimensions.items():
                metric.add_dimension(name=key, value=dim)
    except Exception as exc:  # metrics must never break a request
        log.warning("could not publish metric %s: %s", name, exc)
