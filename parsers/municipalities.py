"""Denmark's 98 municipalities (public registry data, shipped in data/municipalities.csv)."""

from __future__ import annotations

import csv
import re
import unicodedata
from dataclasses import dataclass
from functools import cache
from importlib import resources


@dataclass(frozen=True)
class Municipality:
    code: str
    name: str
    official_name: str
    region: str


def _key(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).casefold()
    text = text.replace("aa", "å")  # Aarhus/Århus, Aabenraa/Åbenrå
    text = re.sub(r"\b(kommune|kommunes|regionskommune|municipality|kommune:)\b", " ", text)
    return re.sub(r"[^\wæøå]+", "", text)


@cache
def _registry() -> tuple[list[Municipality], dict[str, Municipality]]:
    rows: list[Municipality] = []
    index: dict[str, Municipality] = {}
    with resources.files("parsers").joinpath("data/municipalities.csv").open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            m = Municipality(row["code"].zfill(3), row["name"], row["official_name"], row["region"])
            rows.append(m)
            for spelling in (m.name, m.official_name, *filter(None, row["aliases"].split(";"))):
                index.setdefault(_key(spelling), m)
    return rows, index


def all_municipalities() -> list[Municipality]:
    return list(_registry()[0])


def find_municipality(text: str) -> Municipality | None:
    """'Aarhus Kommune', 'Århus', 'Kommune: Aarhus', 'Høje Taastrup' → the registry entry, or None."""
    cleaned = re.sub(r"^\s*(?i:kommune)\s*[:\-]\s*", "", text.strip())
    cleaned = cleaned.split("\n")[0]
    key = _key(cleaned)
    if not key:
        return None
    index = _registry()[1]
    # "Københavns Kommune", "Vesthimmerlands Kommune": the genitive s of the official name
    return index.get(key) or index.get(key.removesuffix("s"))
