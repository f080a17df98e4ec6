"""Which cells to hide: primary small cells, then complementary cells until no hidden cell can be
pinned or proven small from what stays published.

The protection every hidden cell must have (docs/privacy.md), with t the small-cell threshold:
its interval [low, high] over everything published, rounded to whole counts, has high >= t (no
one can prove the count is small) and low < high (no one can pin it).

How complementary cells are chosen, per indicator and year (the sums never cross a year):
1. the local rules of each sum, until none applies: a sum with exactly one hidden member, or
   whose hidden children add up to less than t under a published parent, gets one more member
   hidden, the cheapest that fixes it (see `_cost`);
2. the linear program of `bounds`: each hidden cell that still fails the rule gets the cheapest
   published member of one of its sums hidden beside it, and only the failing and new cells are
   solved again. Hiding a cell only widens the others' intervals, so a cell that passed once
   keeps passing and the loop ends: at worst with every cell of the indicator and year hidden.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from qnwu_warehouse.disclosure.bounds import Equation, System, protected

# Hide a grassroots unit's month before a district's, a district's before the province's: the
# province and district figures are what the union reports, a unit's month is the least used.
_LEVEL_COST = {"unit": 0, "district": 1, "province": 2}


@dataclass(frozen=True)
class Cell:
    cell_id: str
    value: int
    scope_level: str
    category: str
    is_primary: bool


def _cost(cell: Cell, threshold: int) -> tuple[bool, int, int]:
    """The order in which published cells are taken as complements, cheapest first.

    A complement of at least t protects itself (its interval holds its value) and lifts the
    upper bound of every hidden cell it shares a sum with past t. A zero does neither: hidden, it
    is pinned or proven small in its turn and needs complements of its own, which cascaded to
    whole indicator-years before zeros were taken last."""
    # the all-categories total last: it is the figure a target is judged on
    level = 3 if cell.category == "all" else _LEVEL_COST.get(cell.scope_level, 3)
    return (cell.value < threshold, level, cell.value)


def equations_of(rows: list[dict]) -> list[Equation]:
    """The sums between the cells: every parent with the children that name it, per kind of sum."""
    children: dict[tuple[str, str], list[str]] = defaultdict(list)
    for row in rows:
        for kind in ("scope_parent_id", "time_parent_id", "category_parent_id"):
            if row.get(kind):
                children[(kind, row[kind])].append(row["cell_id"])
    return [Equation(parent, tuple(sorted(members))) for (_kind, parent), members in sorted(children.items())]


def choose_hidden(
    rows: list[dict], threshold: int, complementary: bool = True, public: set[str] | None = None
) -> dict[str, str]:
    """{cell_id: 'primary' | 'secondary'} for the cells of one indicator and year.

    `public`: cells an earlier published version showed with the value they have now
    (disclosure/audit.pinned_by_history). Hiding one again protects nothing, so none is taken as a
    complement, and each counts as known in the sums; a small one stays hidden (primary) but needs
    no protection of its own."""
    cells = {
        row["cell_id"]: Cell(row["cell_id"], int(row["value"]), row["scope_level"], row["category"], bool(row["is_primary"]))
        for row in rows
    }
    public = set(public or ()) & cells.keys()
    equations = [e for e in equations_of(rows) if e.parent in cells]
    _check_sums(equations, cells)
    hidden = {cell_id for cell_id, cell in cells.items() if cell.is_primary}
    if not complementary or not hidden - public:
        return dict.fromkeys(hidden, "primary")
    _local_rules(equations, cells, hidden, threshold, public)
    member_of: dict[str, list[Equation]] = defaultdict(list)
    for equation in equations:
        for cell_id in (equation.parent, *equation.children):
            member_of[cell_id].append(equation)
    to_check = hidden - public
    for _round in range(len(cells) + 1):
        unknown = hidden - public
        system = System(equations, {c: cells[c].value for c in cells if c not in unknown}, unknown)
        intervals = system.bounds(to_check)
        failing = sorted(c for c, interval in intervals.items() if not protected(interval, threshold))
        if not failing:
            break
        added = set()
        for cell_id in failing:
            choice = _cheapest(cell_id, member_of, cells, hidden | added | public, threshold)
            if choice is not None:
                added.add(choice)
        if not added:  # nothing left to hide beside the failing cells: hide the whole indicator-year
            added = set(cells) - hidden - public
            if not added:
                break
        hidden |= added
        to_check = set(failing) | added
    return {cell_id: "primary" if cells[cell_id].is_primary else "secondary" for cell_id in hidden}


def _cheapest(cell_id: str, member_of, cells: dict[str, Cell], hidden: set[str], threshold: int) -> str | None:
    """The published cell sharing a sum with `cell_id` whose hiding costs least (`_cost`)."""
    candidates = {
        member for equation in member_of[cell_id] for member in (equation.parent, *equation.children) if member not in hidden
    }
    if not candidates:
        # every member of its sums is hidden: widen from the sums of its neighbours
        neighbours = {member for equation in member_of[cell_id] for member in (equation.parent, *equation.children)}
        candidates = {
            member
            for neighbour in neighbours
            for equation in member_of[neighbour]
            for member in (equation.parent, *equation.children)
            if member not in hidden
        }
    if not candidates:
        return None
    return min(candidates, key=lambda c: (_cost(cells[c], threshold), c))


def _local_rules(
    equations: list[Equation], cells: dict[str, Cell], hidden: set[str], threshold: int, public: set[str]
) -> None:
    """The rules of each sum on its own; a public cell (see choose_hidden) is known, hidden or not,
    and is never taken. A sum whose only candidates are public is left to the linear program."""
    changed = True
    while changed:
        changed = False
        for equation in equations:
            members = (equation.parent, *equation.children)
            hidden_members = [m for m in members if m in hidden and m not in public]
            if not hidden_members:
                continue
            candidates = [c for c in equation.children if c not in hidden and c not in public]
            if equation.parent not in hidden or equation.parent in public:
                hidden_sum = sum(cells[c].value for c in equation.children if c in hidden and c not in public)
                if len(hidden_members) >= 2 and hidden_sum >= threshold:
                    continue
                if not candidates:
                    if equation.parent not in hidden and equation.parent not in public:
                        hidden.add(equation.parent)
                        changed = True
                    continue
                hidden.add(min(candidates, key=lambda c: (_cost(cells[c], threshold), c)))
                changed = True
            elif len(hidden_members) == 1 and candidates:
                # the parent alone is hidden: it equals the published children's sum
                hidden.add(min(candidates, key=lambda c: (_cost(cells[c], threshold), c)))
                changed = True


def _check_sums(equations: list[Equation], cells: dict[str, Cell]) -> None:
    for equation in equations:
        total = sum(cells[c].value for c in equation.children if c in cells)
        if total != cells[equation.parent].value:
            raise ValueError(
                f"the published sum {equation.parent} = {cells[equation.parent].value} is not the sum "
                f"of its {len(equation.children)} parts ({total}): the disclosure model's sums no longer "
                "match how the marts aggregate (a sensitive indicator must be a flow, time_aggregation = sum)"
            )
