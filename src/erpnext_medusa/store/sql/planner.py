"""The typeahead's planner: which of the two plans (store/sql/search.py) answers a query, from a random sample
of the searchable names. Pure Python, the same for every database; what a database's plans cost is its dialect's
(store/sql/dialects/)."""

from __future__ import annotations

from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Costs:
    """Relative costs: a row the ordered walk reads; a row the gram index hands over (fetched, checked and
    sorted); a posting the gram index reads to find those rows. And the most grams it may look up."""

    walk: float
    gram: float
    posting: float
    grams: int
    #: Whether the gram index may look up a one-character word (a prefix query on every pair it starts).
    prefixes: bool

    def indexable(self, keys: Sequence[str]) -> list[str]:
        """The keys the gram index may look up, in their order."""
        return [k for k in keys if self.prefixes or not k.endswith("*")]


@dataclass(frozen=True)
class Plan:
    name: str  # "ordered" or "gram"
    keys: list[str]  # the grams the gram index looks up


@dataclass
class Stats:
    """A random sample of the searchable names (folded, in result order) and where each gram occurs in it."""

    total: int = 0  # unlinked, enabled customers when the sample was taken
    names: list[str] = field(default_factory=list)
    postings: dict[str, array[int]] = field(default_factory=dict)
    taken_at: float = 0.0
    plans: dict[tuple[tuple[str, ...], int, Costs], Plan] = field(default_factory=dict)  # chosen on this sample

    def share(self, key: str) -> float:
        return len(self.postings.get(key, ())) / len(self.names) if self.names else 0.0

    def plan(self, words: Sequence[str], keys: Sequence[str], need: int, costs: Costs) -> Plan:
        """The cheaper plan for these folded words (``keys``: their grams, rarest first), remembered."""
        remembered = self.plans.get((tuple(words), need, costs))
        if remembered is None:
            walk = self.walk(words, keys, need)
            indexed = costs.indexable(keys)
            if not indexed:  # nothing the gram index may look up
                remembered = Plan("ordered", [])
            else:
                chosen, handed, read = self.lookup(indexed, costs)
                gram = handed * costs.gram + read * costs.posting
                remembered = Plan("ordered" if walk * costs.walk <= gram else "gram", chosen)
            if len(self.plans) >= _PLANS_KEPT:
                self.plans.clear()
            self.plans[(tuple(words), need, costs)] = remembered
        return remembered

    def walk(self, words: Sequence[str], keys: Sequence[str], need: int) -> float:
        """Rows an ordered walk reads before it has ``need`` matches. It starts where the last of the keys
        first occurs and ends where the first of them last occurs (as the gram ranges bound it)."""
        found = [self.postings.get(key) for key in keys]
        if not all(found):  # a gram no sampled name holds: few names hold it, the gram index is cheap
            return float(self.total)
        scale = self.total / len(self.names)
        start = max(p[0] for p in found if p)
        end = min(p[-1] for p in found if p)
        if start > end:  # no sampled name lies within every gram's range: the real bounds are unknown here
            return float(self.total)
        rarest = found[0] or array("I")
        candidates = rarest[bisect_left(rarest, start) : bisect_right(rarest, end)]
        checked = candidates[:_ESTIMATE_CHECKS]
        hits = [index for index in checked if all(w in self.names[index] for w in words)]
        span = max(end - start + 1, 1) * scale  # rows between the bounds
        if not hits:  # no sampled match: matches are rare, or there are none
            return span
        density = len(hits) / len(checked) * len(candidates) / max(end - start + 1, 1)  # share of the span
        return min((hits[0] - start) * scale + need / density, span)

    def lookup(self, keys: Sequence[str], costs: Costs) -> tuple[list[str], float, float]:
        """The rarest grams worth looking up in the gram index, the rows they hand over and the postings
        read to find them. Each further gram is read only while it narrows the rows enough to pay for
        reading its postings."""
        if not keys or not self.names:
            return list(keys[:1]), 0.0, 0.0
        scale = self.total / len(self.names)
        rows = set(self.postings.get(keys[0], ()))
        read = float(len(rows))
        chosen = [keys[0]]
        for key in keys[1 : costs.grams]:
            if len(rows) <= 1:
                break
            postings = self.postings.get(key, array("I"))
            narrower = rows.intersection(postings)
            if (len(rows) - len(narrower)) * costs.gram < len(postings) * costs.posting:
                break
            rows, read = narrower, read + len(postings)
            chosen.append(key)
        return chosen, len(rows) * scale, read * scale


#: Sampled names containing a query's rarest gram that the estimate checks, at most.
_ESTIMATE_CHECKS = 2000
#: Plans remembered per sample (a typeahead sends the same words again and again).
_PLANS_KEPT = 10_000
