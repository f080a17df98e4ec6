"""Suppression that remembers what earlier versions published (docs/privacy.md, "Across versions").

A cell an earlier version published with the value it still has is public: hiding it again as a
complement protects nothing, since an attacker holding that version knows it. The choice of
hidden cells takes none as a complement, and counts each as known when it checks the others."""

from __future__ import annotations

from qnwu_warehouse.disclosure.bounds import System, protected
from qnwu_warehouse.disclosure.suppression import choose_hidden, equations_of


def _district_month(values: dict[str, int]) -> list[dict]:
    """A district's month and its units' months: one sum."""
    rows = [
        {
            "cell_id": "district",
            "value": sum(values.values()),
            "scope_level": "district",
            "category": "domestic_violence",
            "is_primary": False,
            "scope_parent_id": None,
            "time_parent_id": None,
            "category_parent_id": None,
        }
    ]
    for cell_id, value in values.items():
        rows.append(
            {
                "cell_id": cell_id,
                "value": value,
                "scope_level": "unit",
                "category": "domestic_violence",
                "is_primary": 0 < value < 5,
                "scope_parent_id": "district",
                "time_parent_id": None,
                "category_parent_id": None,
            }
        )
    return rows


def test_a_cell_published_earlier_is_never_taken_as_a_complement():
    rows = _district_month({"u1": 2, "u2": 6, "u3": 9})
    # alone, the cheapest complement of the small count is the unit of 6
    assert choose_hidden(rows, 5) == {"u1": "primary", "u2": "secondary"}
    # an earlier version published u2 = 6: the unit of 9 is hidden instead, and u2 stays published
    chosen = choose_hidden(rows, 5, public={"u2"})
    assert chosen == {"u1": "primary", "u3": "secondary"}
    # with u2 known, as an attacker holding both versions knows it, u1 keeps its protection
    known = {row["cell_id"]: row["value"] for row in rows if row["cell_id"] not in chosen}
    bounds = System(equations_of(rows), known, set(chosen)).bounds()
    assert all(protected(interval, 5) for interval in bounds.values()), bounds


def test_when_every_complement_is_public_the_total_is_hidden_instead():
    rows = _district_month({"u1": 2, "u2": 6, "u3": 9})
    chosen = choose_hidden(rows, 5, public={"u2", "u3"})
    assert chosen == {"u1": "primary", "district": "secondary"}
    known = {row["cell_id"]: row["value"] for row in rows if row["cell_id"] not in chosen}
    bounds = System(equations_of(rows), known, set(chosen)).bounds()
    assert protected(bounds["u1"], 5), bounds


def test_a_small_count_published_earlier_stays_hidden_and_asks_for_no_complement():
    """A threshold raised from 3 to 5: the 4 was published at 3. It is hidden again (the version
    says what its rule says) but nothing is hidden to protect it: it is known already."""
    rows = _district_month({"u1": 4, "u2": 6, "u3": 9})
    assert choose_hidden(rows, 5, public={"u1"}) == {"u1": "primary"}
