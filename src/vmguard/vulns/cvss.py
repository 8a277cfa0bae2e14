"""CVSS v2 and v3.x base scores from vector strings, and the severity band of a score.

OSV records carry CVSS vectors, not scores; the score is computed here with the formulas
of the CVSS v2 guide and the v3.0/v3.1 specifications (including v3.1's Roundup). CVSS v4
needs FIRST's macro-vector tables and is not scored: ``base_score`` returns None for it, as
for any malformed vector. Never raises on a hostile vector.
"""

from __future__ import annotations

import math

from vmguard.findings import Severity

_V3_WEIGHTS: dict[str, dict[str, float]] = {
    "AV": {"N": 0.85, "A": 0.62, "L": 0.55, "P": 0.2},
    "AC": {"L": 0.77, "H": 0.44},
    "UI": {"N": 0.85, "R": 0.62},
    "C": {"H": 0.56, "L": 0.22, "N": 0.0},
    "I": {"H": 0.56, "L": 0.22, "N": 0.0},
    "A": {"H": 0.56, "L": 0.22, "N": 0.0},
}
_V3_PR = {"U": {"N": 0.85, "L": 0.62, "H": 0.27}, "C": {"N": 0.85, "L": 0.68, "H": 0.5}}
_V2_WEIGHTS: dict[str, dict[str, float]] = {
    "AV": {"L": 0.395, "A": 0.646, "N": 1.0},
    "AC": {"H": 0.35, "M": 0.61, "L": 0.71},
    "Au": {"M": 0.45, "S": 0.56, "N": 0.704},
    "C": {"N": 0.0, "P": 0.275, "C": 0.660},
    "I": {"N": 0.0, "P": 0.275, "C": 0.660},
    "A": {"N": 0.0, "P": 0.275, "C": 0.660},
}
MAX_VECTOR_CHARS = 512


def _metrics(parts: list[str]) -> dict[str, str] | None:
    metrics: dict[str, str] = {}
    for part in parts:
        key, colon, value = part.partition(":")
        if not colon or key in metrics:
            return None
        metrics[key] = value
    return metrics


def _roundup_v31(value: float) -> float:
    scaled = round(value * 100000)
    if scaled % 10000 == 0:
        return scaled / 100000.0
    return (math.floor(scaled / 10000) + 1) / 10.0


def _v3_score(metrics: dict[str, str], minor: str) -> float | None:
    try:
        scope = metrics["S"]
        weights = {k: table[metrics[k]] for k, table in _V3_WEIGHTS.items()}
        privileges = _V3_PR[scope][metrics["PR"]]
    except KeyError:
        return None
    iss = 1 - (1 - weights["C"]) * (1 - weights["I"]) * (1 - weights["A"])
    impact = 6.42 * iss if scope == "U" else 7.52 * (iss - 0.029) - 3.25 * (iss - 0.02) ** 15
    exploitability = 8.22 * weights["AV"] * weights["AC"] * privileges * weights["UI"]
    if impact <= 0:
        return 0.0
    total = impact + exploitability if scope == "U" else 1.08 * (impact + exploitability)
    total = min(total, 10.0)
    return _roundup_v31(total) if minor == "1" else math.ceil(total * 10) / 10


def _v2_score(metrics: dict[str, str]) -> float | None:
    try:
        w = {k: table[metrics[k]] for k, table in _V2_WEIGHTS.items()}
    except KeyError:
        return None
    impact = 10.41 * (1 - (1 - w["C"]) * (1 - w["I"]) * (1 - w["A"]))
    exploitability = 20 * w["AV"] * w["AC"] * w["Au"]
    factor = 0.0 if impact == 0 else 1.176
    score = ((0.6 * impact) + (0.4 * exploitability) - 1.5) * factor
    return float(round(score + 1e-9, 1))


def base_score(vector: str) -> float | None:
    """The base score of a CVSS v2 or v3.x vector; None if it is not one (or is v4)."""
    if len(vector) > MAX_VECTOR_CHARS:
        return None
    parts = vector.strip().split("/")
    head = parts[0]
    if head in ("CVSS:3.0", "CVSS:3.1"):
        metrics = _metrics(parts[1:])
        return None if metrics is None else _v3_score(metrics, head[-1])
    if head.startswith("CVSS:"):
        return None
    metrics = _metrics(parts)
    return None if metrics is None else _v2_score(metrics)


def severity_of_score(score: float, *, v2: bool = False) -> Severity:
    """The qualitative band of a score (v2 has no critical band; 0.0 is info)."""
    if score <= 0:
        return Severity.INFO
    if score < 4.0:
        return Severity.LOW
    if score < 7.0:
        return Severity.MEDIUM
    if v2 or score < 9.0:
        return Severity.HIGH
    return Severity.CRITICAL
