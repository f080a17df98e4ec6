"""Planning a population's reports: every unit-month's values and club register, calibrated so
the province totals of the real 177 units in 2023 are the article's."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from random import Random

from qnwu_devtools.generator.calibration import (
    CALIBRATION_2023,
    CALIBRATION_UNIT_COUNT,
    CALIBRATION_YEAR,
    DEADLINE_DAY,
    DERIVED_FLOWS,
    FLOW_PROFILES,
    GROWTH_PER_YEAR,
    LATE_SHARE,
    MEMBER_RANGES,
    MISSING_SHARE,
    MONEY_STEP,
    POOR_DECLINE_PER_YEAR,
    REPORTER_TITLES,
    RESUBMISSION_SHARE,
    SEASONS,
    SPORT_TYPES,
    VILLAGES,
    WASTE_TYPES,
)
from qnwu_devtools.generator.model import CellPlan, Club, Unit, apportion, seeded_stream, weighted_sample
from qnwu_warehouse.contract.files import (
    STATUS_WORDS_VI,
    club_type_catalogue,
    indicator_catalogue,
)
from qnwu_warehouse.contract.rules import CONTRACT_VERSION, VIETNAM_TIME


# --- planning -------------------------------------------------------------------------------------
class Population:
    """One set of units (the real ones, or the synthetic ones) planned year by year."""

    def __init__(
        self,
        name: str,
        units: list[Unit],
        seed: int,
        first_year: int,
        reference_mass: float,
        calibrated: bool,
        successors: dict[str, list[Unit]],
        mix: dict[str, float],
    ):
        self.name = name
        self.units = sorted(units, key=lambda u: (u.code, u.valid_from))
        self.seed = seed
        self.first_year = first_year
        self.reference_mass = reference_mass
        self.calibrated = calibrated
        self.successors = successors
        self.mix = mix
        self.clubs: dict[str, list[Club]] = {u.version_id: [] for u in self.units}
        self.counters: dict[tuple[str, str], int] = {}
        self.poor_stock: dict[str, int] = {}
        self.waste_units: set[str] = set()
        self._factors: dict[int, float] = {}
        profile_rng = seeded_stream(seed, name, "unit-habits")
        formats = sorted(mix)
        self.preferred_format = {
            u.version_id: profile_rng.choices(formats, weights=[mix[f] for f in formats])[0] for u in self.units
        }
        self.omits_zero_rows = {u.version_id: profile_rng.random() < 0.2 for u in self.units}
        self.reporter_choice = {u.version_id: profile_rng.randrange(len(REPORTER_TITLES)) for u in self.units}
        # (year, month) of every unit change and the month before it: their reports are always sent
        self.change_months = {
            ym
            for u in self.units
            if u.valid_to is not None
            for ym in (
                (u.valid_to.year, u.valid_to.month),
                (u.valid_to.year, u.valid_to.month - 1) if u.valid_to.month > 1 else (u.valid_to.year - 1, 12),
            )
        }

    # cells ----------------------------------------------------------------------------------
    def cells(self, year: int) -> list[tuple[Unit, int]]:
        return [(u, m) for u in self.units for m in range(1, 13) if u.valid_in(year, m)]

    def factor(self, year: int) -> float:
        """How much bigger than the calibrated 2023 population this one is in ``year`` (1.0 exactly there)."""
        if self.calibrated and year == CALIBRATION_YEAR:
            return 1.0
        if year not in self._factors:
            mass = sum(u.weight for u, _m in self.cells(year)) / 12
            self._factors[year] = mass / self.reference_mass * GROWTH_PER_YEAR ** (year - CALIBRATION_YEAR)
        return self._factors[year]

    def scaled(self, value: int, year: int, step: int = 1) -> int:
        factor = self.factor(year)
        if factor == 1.0:
            return value
        return round(value * factor / step) * step

    # clubs ----------------------------------------------------------------------------------
    def _new_club(
        self, rng: Random, unit: Unit, club_type: str, members: int | None = None, name: str | None = None, **when
    ) -> Club:
        prefix = "CLB" if club_type in SPORT_TYPES or club_type.endswith("_club") else "MH"
        key = (unit.version_id, prefix)
        taken = {c.club_id for c in self.clubs[unit.version_id]}
        club_id = ""
        while not club_id or club_id in taken:  # ids taken over in a merger are kept
            self.counters[key] = self.counters.get(key, 0) + 1
            club_id = f"{prefix}-{self.counters[key]:03d}"
        if members is None:
            low, high = MEMBER_RANGES[club_type]
            members = rng.randint(low, high)
        club = Club(club_id, club_type, name or self._club_name(unit, club_type), members, **when)
        self.clubs[unit.version_id].append(club)
        return club

    def _club_name(self, unit: Unit, club_type: str) -> str:
        names = {code: name for code, name, _group in club_type_catalogue()}
        key = (unit.version_id, "name:" + club_type)
        self.counters[key] = self.counters.get(key, 0) + 1
        number = self.counters[key]
        if unit.unit_type == "Xã":
            village = VILLAGES[(number - 1 + len(unit.code)) % len(VILLAGES)]
            rounds = (number - 1) // len(VILLAGES)
            place = f"thôn {village}" + (f" {rounds + 1}" if rounds else "")
        else:
            place = f"khu {number}" if number % 3 else f"tổ {number}"
        base = names.get(club_type, club_type)
        if club_type in WASTE_TYPES or club_type == "border_econ_model":
            return f"{base} chi hội {place}"
        if club_type == "livestock_model":
            animal = ("nuôi gà", "nuôi lợn", "nuôi ngan")[number % 3]
            return f"Mô hình {animal} hộ hội viên {place}"
        return f"{base} {place}"

    def plan_year(self, year: int) -> dict[tuple[str, int], CellPlan]:
        cells = self.cells(year)
        if not cells:
            return {}
        self._plan_clubs(year, cells)
        self._take_over_clubs(year)
        unreported = self._unreported(year, cells)
        cells = [cell for index, cell in enumerate(cells) if index not in unreported]
        values = self._plan_values(year, cells)
        return self._plan_submissions(year, cells, values)

    def _unreported(self, year: int, cells: list[tuple[Unit, int]]) -> set[int]:
        """The cells with no report at all (MISSING_SHARE); their flows are spread over the others."""
        if year <= CALIBRATION_YEAR:
            return set()
        candidates = [
            index
            for index, (unit, month) in enumerate(cells)
            if month != 12
            and (year, month) not in self.change_months
            and not any(
                club.founded == (year, month) or club.dissolved == (year, month) for club in self.clubs[unit.version_id]
            )
        ]
        rng = seeded_stream(self.seed, self.name, "unreported", year)
        return set(rng.sample(candidates, min(len(candidates), round(MISSING_SHARE * len(cells)))))

    def _hand_on(self, unit: Unit, into: dict[str, list[float]], *amounts: float) -> None:
        """What a unit that ends holds (a register, people counted since January) goes to the units
        that take it over, in equal shares, as its clubs do (`_take_over_clubs`)."""
        takers = self.successors.get(unit.version_id, [])
        for taker in takers:
            held = into.setdefault(taker.version_id, [0.0] * len(amounts))
            for position, amount in enumerate(amounts):
                held[position] += amount / len(takers)

    def _take_over_clubs(self, year: int) -> None:
        """Clubs of a unit that ends (merger, new code) move to the unit(s) that take it over."""
        for unit in self.units:
            if unit.valid_to is None or unit.valid_to.year != year or unit.version_id not in self.successors:
                continue
            start = (unit.valid_to.year, unit.valid_to.month)
            takers = [t for t in self.successors[unit.version_id] if t.version_id in self.clubs]
            if not takers:
                continue
            if unit.version_id in self.waste_units:
                self.waste_units.update(t.version_id for t in takers)
            last = (start[0], start[1] - 1) if start[1] > 1 else (start[0] - 1, 12)
            for index, club in enumerate(list(self.clubs[unit.version_id])):
                if not club.listed(last) or club.dissolved is not None:
                    continue
                taker = takers[index % len(takers)]
                taken = {c.club_id for c in self.clubs[taker.version_id]}
                club_id = club.club_id if taker.code == unit.code else f"{unit.code}/{club.club_id}"
                if club_id in taken:
                    club_id = f"{unit.code}/{club.club_id}"
                self.clubs[taker.version_id].append(Club(club_id, club.club_type, club.name, club.members, start=start))

    def _plan_clubs(self, year: int, cells: list[tuple[Unit, int]]) -> None:
        rng = seeded_stream(self.seed, self.name, "clubs", year)
        table = CALIBRATION_2023["clubs"]
        first = year == self.first_year
        units_jan = [u for u in self.units if u.valid_in(year, 1)]
        if first:
            self._open_registers(rng, year, units_jan)
        generic = SPORT_TYPES + WASTE_TYPES
        # New clubs and models, on (unit, month) cells weighted by size and the founding season.
        for club_type in generic:
            count = self.scaled(table[club_type]["new"], year)
            eligible = [(u, m) for u, m in cells if club_type in SPORT_TYPES or u.version_id in self.waste_units]
            if not eligible or count == 0:
                continue
            weights = [u.weight * SEASONS["founding"][m - 1] * rng.lognormvariate(0, 0.5) for u, m in eligible]
            for (unit, month), number in zip(eligible, apportion(count, weights), strict=True):
                for _ in range(number):
                    self._new_club(rng, unit, club_type, founded=(year, month))
        if not self.name.startswith("synthetic"):
            self._recurring_models(rng, year, cells)
            if first and self.calibrated and year == CALIBRATION_YEAR:
                self._article_clubs(rng, year, cells)
        # Dissolutions among clubs founded before this year, never below one sport club per unit or one
        # waste model per waste unit, never in December (so December lists what is maintained).
        for club_type in generic:
            count = self.scaled(table[club_type]["dissolved"], year)
            candidates = [
                (u, c)
                for u in self.units
                for c in self.clubs[u.version_id]
                if c.club_type == club_type
                and c.dissolved is None
                and (c.founded or c.start or (0, 0)) < (year, 1)
                and c.listed((year, 1))
            ]
            rng.shuffle(candidates)
            done = 0
            for unit, club in candidates:
                if done >= count:
                    break
                months = [m for m in range(2, 12) if unit.valid_in(year, m)]
                group = SPORT_TYPES if club_type in SPORT_TYPES else WASTE_TYPES
                alive = sum(
                    1
                    for c in self.clubs[unit.version_id]
                    if c.club_type in group and c.dissolved is None and c.listed((year, 1))
                )
                if not months or alive < 2:
                    continue
                club.dissolved = (year, rng.choice(months))
                done += 1
        if first and self.calibrated and year == CALIBRATION_YEAR:
            self._calibrate_waste_members(rng, year)

    def _open_registers(self, rng: Random, year: int, units: list[Unit]) -> None:
        """Clubs that exist before the first month: December stock - new + dissolved of the table."""
        table = CALIBRATION_2023["clubs"]
        if not units:
            return
        opening = {
            t: self.scaled(table[t]["december"] - table[t]["new"] + table[t]["dissolved"], year)
            for t in SPORT_TYPES + WASTE_TYPES
        }
        share = CALIBRATION_2023["placements"]["waste_model_units"] / CALIBRATION_UNIT_COUNT
        waste_count = min(len(units), round(len(units) * share))
        # Units without waste models are the smaller, remoter ones more often.
        self.waste_units = {u.version_id for u in weighted_sample(rng, units, [u.weight for u in units], waste_count)}
        waste_units = [u for u in units if u.version_id in self.waste_units]
        weights = [u.weight * rng.lognormvariate(0, 0.35) for u in units]
        plan: dict[str, list[int]] = {}
        # Every unit runs at least one folk-dance club: the movement reaches 177/177 units.
        plan["folk_dance"] = [1 + n for n in apportion(max(0, opening["folk_dance"] - len(units)), weights)]
        plan["air_volleyball"] = apportion(opening["air_volleyball"], [w * rng.uniform(0.5, 1.5) for w in weights])
        plan["women_football"] = apportion(opening["women_football"], [w**2 for w in weights])
        waste_weights = [u.weight * rng.lognormvariate(0, 0.5) for u in waste_units]
        plan["waste_sorting_model"] = [
            1 + n for n in apportion(max(0, opening["waste_sorting_model"] - len(waste_units)), waste_weights)
        ]
        plan["waste_to_money_model"] = apportion(
            opening["waste_to_money_model"], [w * rng.uniform(0.3, 1.7) for w in waste_weights]
        )
        for club_type in SPORT_TYPES:
            for unit, number in zip(units, plan[club_type], strict=True):
                for _ in range(number):
                    self._new_opening_club(rng, unit, club_type, year)
        for club_type in WASTE_TYPES:
            for unit, number in zip(waste_units, plan[club_type], strict=True):
                for _ in range(number):
                    self._new_opening_club(rng, unit, club_type, year)
        if not self.name.startswith("synthetic") and self.calibrated and year == CALIBRATION_YEAR:
            self._article_opening(rng, units)

    def _new_opening_club(
        self, rng: Random, unit: Unit, club_type: str, year: int, members: int | None = None, name: str | None = None
    ) -> Club:
        club = self._new_club(rng, unit, club_type, members=members, name=name)
        if club_type in SPORT_TYPES + WASTE_TYPES and rng.random() < 0.3 and club.members > 3:
            club.members_before = club.members - rng.randint(1, 3)
            club.members_change = (year, rng.randint(2, 12))
        return club

    def _units_in(self, units: list[Unit], districts, unit_type: str | None = None) -> list[Unit]:
        return [u for u in units if u.district in districts and (unit_type is None or u.unit_type == unit_type)]

    def _article_opening(self, rng: Random, units: list[Unit]) -> None:
        """Children's clubs and models the article says are maintained (they exist before 2023)."""
        places = CALIBRATION_2023["placements"]
        for club_type in ("friendly_club", "child_rights_club", "early_childhood_model"):
            for district, count in places[club_type].items():
                pool = self._units_in(units, (district,), None)
                if club_type != "early_childhood_model":  # children's clubs meet in towns
                    pool = [u for u in pool if u.unit_type != "Xã"] or pool
                for unit in rng.sample(pool, min(count, len(pool))):
                    self._new_club(rng, unit, club_type, name=self._special_name(unit, club_type))

    def _special_name(self, unit: Unit, club_type: str, index: int = 0) -> str:
        short = unit.short_name
        if club_type == "friendly_club":
            return f"CLB Thân thiện {short}"
        if club_type == "child_rights_club":
            return f"CLB Quyền trẻ em Trường THCS {short}"
        if club_type == "early_childhood_model":
            return f"Mô hình Chăm sóc và giáo dục phát triển toàn diện trẻ thơ {short}"
        if club_type == "change_leader_club":
            school = ("Trường TH-THCS", "Trường THCS", "Trường TH")[index % 3]
            suffix = " 2" if short == "Đại Dực" and index == 0 else ""  # the club in the article's photo
            return f"CLB Thủ lĩnh của sự thay đổi {school} {short}{suffix}"
        return f"{club_type} {short}"

    def _article_clubs(self, rng: Random, year: int, cells: list[tuple[Unit, int]]) -> None:
        """The new children's clubs and models of 2023, where the article puts them."""
        places = CALIBRATION_2023["placements"]
        members = CALIBRATION_2023["members"]
        units = sorted({u.version_id: u for u, _m in cells}.values(), key=lambda u: u.code)
        knit = places["knit_for_children"]
        for unit in units:
            if unit.name == knit["unit_name"] and unit.district == knit["district"]:
                self._new_club(
                    rng,
                    unit,
                    "knit_for_children",
                    members=members["knit_for_children"],
                    name="Mô hình Đan áo cho em khu 5B",
                    founded=(year, knit["month"]),
                )
        leader = places["change_leader_club"]
        communes = self._units_in(units, leader["districts"], "Xã")
        chosen: list[Unit] = [u for u in communes if u.name == leader["must_include"]]
        for district in leader["districts"]:  # one commune in each district, then the rest anywhere
            if not any(u.district == district for u in chosen):
                pool = [u for u in communes if u.district == district]
                chosen += rng.sample(pool, 1) if pool else []
        rest = [u for u in communes if u not in chosen]
        chosen += rng.sample(rest, max(0, min(len(rest), leader["communes"] - len(chosen))))
        chosen.sort(key=lambda u: u.code)
        count = CALIBRATION_2023["clubs"]["change_leader_club"]["new"]
        per_commune = [1] * len(chosen)
        for index in rng.sample(range(len(chosen)), max(0, count - len(chosen))):
            per_commune[index] += 1
        low, high = members["change_leader_club"]
        for unit, number in zip(chosen, per_commune, strict=True):
            for index in range(number):
                self._new_club(
                    rng,
                    unit,
                    "change_leader_club",
                    members=rng.randint(low, high),
                    name=self._special_name(unit, "change_leader_club", index),
                    founded=(year, rng.randint(3, 11)),
                )

    def _recurring_models(self, rng: Random, year: int, cells: list[tuple[Unit, int]]) -> None:
        """Border-women programme: livestock models (Bình Liêu) and Red Cross funded models."""
        places = CALIBRATION_2023["placements"]
        table = CALIBRATION_2023["clubs"]
        for club_type in ("livestock_model", "border_econ_model"):
            count = table[club_type]["new"] if year == CALIBRATION_YEAR else self.scaled(table[club_type]["new"], year)
            eligible = [(u, m) for u, m in cells if u.district in places[club_type] and 3 <= m <= 11]
            if not eligible or not count:
                continue
            members = CALIBRATION_2023["members"]["livestock_model"] if club_type == "livestock_model" else None
            weights = [rng.lognormvariate(0, 0.6) for _ in eligible]
            for (unit, month), number in zip(eligible, apportion(count, weights), strict=True):
                for _ in range(number):
                    self._new_club(rng, unit, club_type, members=members, founded=(year, month))

    def _calibrate_waste_members(self, rng: Random, year: int) -> None:
        """Members of the waste models maintained at December add up to the table's total."""
        december = (year, 12)
        alive = [
            c
            for u in self.units
            for c in self.clubs[u.version_id]
            if c.club_type in WASTE_TYPES and c.listed(december) and c.dissolved is None
        ]
        total = CALIBRATION_2023["members"]["waste_models_december"]
        floor = 20
        shares = apportion(total - floor * len(alive), [rng.lognormvariate(0, 0.6) for _ in alive])
        for club, extra in zip(alive, shares, strict=True):
            club.members = floor + extra
            if club.members_before is not None:
                club.members_before = max(1, club.members - rng.randint(1, 3))

    def _listed_count(self, unit: Unit, club_type: str, ym: tuple[int, int]) -> int:
        return sum(1 for c in self.clubs[unit.version_id] if c.club_type == club_type and c.listed(ym))

    # values ---------------------------------------------------------------------------------
    def _plan_values(self, year: int, cells: list[tuple[Unit, int]]) -> list[dict[tuple[str, str], int]]:
        rng = seeded_stream(self.seed, self.name, "values", year)
        flows = CALIBRATION_2023["flows"]
        values: list[dict[tuple[str, str], int]] = [{} for _ in cells]

        def spread(key: tuple[str, str], total: int, weights: list[float], step: int = 1) -> None:
            if not any(weights):
                weights = [1.0] * len(weights)
            for row, amount in zip(values, apportion(total // step, weights), strict=True):
                row[key] = amount * step

        for (code, category), target in flows.items():
            if code in DERIVED_FLOWS:
                continue
            season, kind = FLOW_PROFILES[code]
            sizes = []
            for unit, _month in cells:
                size = {
                    "busy": unit.weight,
                    "flat": unit.weight**0.5,
                    "poor": 0.15 + unit.minority,
                    "minority": unit.weight * (0.3 + unit.minority),
                }[kind]
                if category == "ethnic_minority":
                    size *= unit.minority
                elif category == "kinh":
                    size *= 1 - unit.minority
                sizes.append(size)
            # each month gets its season's share of the year whatever the number of units: 54 merged
            # communes do what 171 did (sizes that are not linear in a unit's weight would otherwise
            # drop the flows at the 2025-07-01 merger)
            month_size: dict[int, float] = {}
            for (_unit, month), size in zip(cells, sizes, strict=True):
                month_size[month] = month_size.get(month, 0.0) + size
            weights = [
                size / month_size[month] * SEASONS[season][month - 1] * rng.lognormvariate(0, 0.8)
                for (_unit, month), size in zip(cells, sizes, strict=True)
            ]
            spread((code, category), self.scaled(target, year), weights)
        # Attendances come with the classes held.
        classes = [row[("child_training_classes", "total")] for row in values]
        attendances = self.scaled(flows[("child_training_attendances", "total")], year)
        if sum(classes):
            spread(("child_training_attendances", "total"), attendances, [n * rng.uniform(0.7, 1.3) for n in classes])
        else:
            spread(("child_training_attendances", "total"), 0, [1.0] * len(cells))
        # Victims supported: those identified, a few of them not (yet) supported.
        for category in ("domestic_violence", "trafficking_returnee"):
            identified = [row[("violence_victims_identified", category)] for row in values]
            supported = list(identified)
            gap = sum(identified) - min(sum(identified), self.scaled(flows[("violence_victims_supported", category)], year))
            positions = [i for i, n in enumerate(supported) for _ in range(n)]
            for index in rng.sample(positions, min(gap, len(positions))):
                supported[index] -= 1
            for row, number in zip(values, supported, strict=True):
                row[("violence_victims_supported", category)] = number
        # Godmother funds follow the children sponsored; waste money follows the waste-to-money models.
        children = [row[("godmother_children_new", "female")] + row[("godmother_children_new", "male")] for row in values]
        step = MONEY_STEP["godmother_funds_vnd"]
        spread(
            ("godmother_funds_vnd", "total"),
            self.scaled(flows[("godmother_funds_vnd", "total")], year, step),
            [(u.weight * 0.3 + 3 * n) * rng.lognormvariate(0, 0.5) for (u, _m), n in zip(cells, children, strict=True)],
            step,
        )
        step = MONEY_STEP["waste_to_money_funds_vnd"]
        models = [self._listed_count(u, "waste_to_money_model", (year, m)) for u, m in cells]
        total = self.scaled(flows[("waste_to_money_funds_vnd", "total")], year, step)
        weights = [n * rng.lognormvariate(0, 0.5) for n in models]
        spread(
            ("waste_to_money_funds_vnd", "total"),
            total if sum(weights) else 0,
            weights if sum(weights) else [1.0] * len(cells),
            step,
        )
        # Red Cross money: a fixed amount to each border-women economic model in its founding month.
        per_model = CALIBRATION_2023["members"]["border_econ_funds_per_model_vnd"]
        for row, (unit, month) in zip(values, cells, strict=True):
            founded = sum(
                1 for c in self.clubs[unit.version_id] if c.club_type == "border_econ_model" and c.founded == (year, month)
            )
            row[("border_econ_funds_vnd", "total")] = founded * per_model
        self._plan_poor_stock(rng, year, cells, values)
        self._plan_distinct_since_january(year, cells, values)
        return values

    def _plan_distinct_since_january(self, year: int, cells, values) -> None:
        """The ytd_distinct indicators (seeds/indicators.csv): distinct people since 1 January, from
        the month's person-times. A person helped in several months counts once, so the figure grows
        slower than the months' sum and never above it.

        - poor_members_helped_ytd: of the members on the register at month end, those helped at
          least once this year. It follows the share of the year's help given so far up to the
          unit's coverage (82-100%), so it is never above the register.
        - women_entrepreneurs_supported_ytd: the women supported so far (75-95% of the
          person-times are first supports). A unit formed during the year carries the figures of
          the units it was formed from, as it carries their clubs.
        """
        by_unit: dict[str, list[int]] = {}
        for index, (unit, _month) in enumerate(cells):
            by_unit.setdefault(unit.version_id, []).append(index)
        units = sorted({u.version_id: u for u, _m in cells}.values(), key=lambda u: (u.valid_from, u.code))
        carried: dict[str, list[float]] = {}  # version_id -> [help given, women supported] so far
        for unit in units:
            indices = sorted(by_unit[unit.version_id], key=lambda i: cells[i][1])
            profile = seeded_stream(self.seed, self.name, "distinct", unit.version_id, year)
            coverage, first_supports = profile.uniform(0.82, 1.0), profile.uniform(0.75, 0.95)
            helped_so_far, supported = carried.get(unit.version_id, (0.0, 0.0))
            # the help this unit will have given by December, its months so far extrapolated to the end
            # of the year (a unit that ends in June has half of it done), plus what it carries
            own_help = sum(values[i][("poor_members_helped", "total")] for i in indices)
            year_help = helped_so_far + own_help * (13 - cells[indices[0]][1]) / len(indices) or 1
            for i in indices:
                helped_so_far += values[i][("poor_members_helped", "total")]
                register = values[i][("poor_members_total", "total")]
                values[i][("poor_members_helped_ytd", "total")] = min(
                    register, round(helped_so_far), round(register * coverage * min(1.0, helped_so_far / year_help))
                )
                supported += first_supports * values[i][("women_entrepreneurs_supported", "total")]
                values[i][("women_entrepreneurs_supported_ytd", "total")] = round(supported)
            if unit.valid_to is not None and unit.valid_to.year == year:
                self._hand_on(unit, carried, helped_so_far, supported)

    def _plan_poor_stock(self, rng: Random, year: int, cells, values) -> None:
        """Members of poor households on the register: declines through the year to the December total."""
        key = ("poor_members_total", "total")
        december_units = sorted({u.version_id: u for u, m in cells if m == 12}.values(), key=lambda u: u.code)
        # Poverty falls over the years while activity grows: undo the growth, then decline.
        target = round(
            self.scaled(CALIBRATION_2023["stocks"][key], year)
            * (POOR_DECLINE_PER_YEAR / GROWTH_PER_YEAR) ** (year - CALIBRATION_YEAR)
        )
        weights = [(0.1 + u.minority) * rng.lognormvariate(0, 0.5) for u in december_units]
        december = dict(zip((u.version_id for u in december_units), apportion(target, weights), strict=True))
        first_month = {}
        for unit, month in cells:
            first_month[unit.version_id] = min(month, first_month.get(unit.version_id, 12))
        handed_on: dict[str, list[float]] = {}  # a unit formed this year starts with its predecessors' register
        # units that end this year first, so what they hand on is known when their successors start
        for index in sorted(range(len(cells)), key=lambda i: (cells[i][0].valid_from, cells[i][0].code, cells[i][1])):
            row, (unit, month) = values[index], cells[index]
            end = december.get(unit.version_id)
            start = self.poor_stock.get(unit.version_id)
            if start is None and unit.version_id in handed_on:
                start = round(handed_on[unit.version_id][0])
                self.poor_stock[unit.version_id] = start
            if start is None:
                base = end if end is not None else round(target / max(1, len(december_units)))
                start = base + round(base * seeded_stream(self.seed, self.name, "poor", unit.version_id).uniform(0.15, 0.5))
                self.poor_stock[unit.version_id] = start
            begin = first_month[unit.version_id]
            if end is None:  # a unit that ends before December declines as the province does
                end = round(start * POOR_DECLINE_PER_YEAR)
            elif unit.version_id in handed_on and begin > 1:
                # formed this year from its predecessors' registers: it goes on declining from
                # them at the province's pace, not towards a share of the province's December
                # total drawn at random (which fell 38 -> 24 in two months after a merger)
                end = round(start * POOR_DECLINE_PER_YEAR ** ((13 - begin) / 12))
            # from the register it started the year (or its first month) with, to December's
            row[key] = start + round((end - start) * (month - begin + 1) / (13 - begin))
            if unit.valid_to is not None and (unit.valid_to.year, unit.valid_to.month) == (year, month + 1):
                self._hand_on(unit, handed_on, row[key])
        for unit_id, end in december.items():
            self.poor_stock[unit_id] = end

    # submissions ----------------------------------------------------------------------------
    def _plan_submissions(self, year: int, cells, values) -> dict[tuple[str, int], CellPlan]:
        rng = seeded_stream(self.seed, self.name, "submissions", year)
        late = set(rng.sample(range(len(cells)), round(LATE_SHARE * len(cells))))
        resubmitted = set(rng.sample(range(len(cells)), round(RESUBMISSION_SHARE * len(cells))))
        formats = sorted(self.mix)
        plans: dict[tuple[str, int], CellPlan] = {}
        for index, ((unit, month), row) in enumerate(zip(cells, values, strict=True)):
            fmt = self.preferred_format[unit.version_id]
            if rng.random() < 0.1:
                fmt = rng.choices(formats, weights=[self.mix[f] for f in formats])[0]
            first_at = _submission_time(rng, year, month, index in late)
            title = self.reporter_choice[unit.version_id]
            if rng.random() < 0.08:
                title = (title + 1) % len(REPORTER_TITLES)
            plan = CellPlan(
                values=row,
                fmt=fmt,
                submitted_at=first_at,
                late=index in late,
                reporter=REPORTER_TITLES[title].format(level=unit.level_word),
                omit_zero_rows=self.omits_zero_rows[unit.version_id],
            )
            if index in resubmitted:
                plan.resubmission = {
                    "first_at": first_at,
                    "kind": rng.choice(("value", "value", "club")),
                    "pick": rng.random(),
                }
                plan.submitted_at = first_at + timedelta(
                    days=rng.randint(1, 6), hours=rng.randint(0, 5), minutes=rng.randint(0, 59)
                )
            plans[(unit.version_id, month)] = plan
        return plans

    def submission(self, unit: Unit, year: int, month: int, plan: CellPlan) -> dict:
        """The corrected (current) report of one unit and month as a submission dict."""
        ym = (year, month)
        rows = [
            {"indicator_code": code, "category": category, "value": plan.values.get((code, category), 0)}
            for code, category, _label, _unit in indicator_catalogue()
        ]
        if plan.omit_zero_rows and plan.fmt != "xlsx":
            rows = [row for row in rows if row["value"]]
        clubs = []
        for club in self.clubs[unit.version_id]:
            if club.listed(ym):
                status = club.status(ym)
                clubs.append(
                    {
                        "club_id": club.club_id,
                        "club_type": club.club_type,
                        "club_name": club.name,
                        "status": STATUS_WORDS_VI[status] if plan.fmt == "xlsx" else status,
                        "members": club.members_on(ym),
                    }
                )
        return {
            "header": {
                "unit_code": unit.code,
                "period": f"{year:04d}-{month:02d}",
                "submitted_at": plan.submitted_at.isoformat(),
                "reporter": plan.reporter,
                "template_version": CONTRACT_VERSION,
            },
            "values": rows,
            "clubs": clubs,
        }


def _submission_time(rng: Random, year: int, month: int, late: bool) -> datetime:
    """When the report arrives: usually in the first days of the next month, before the 10th."""
    next_year, next_month = (year + 1, 1) if month == 12 else (year, month + 1)
    if late:
        if rng.random() < 0.85:
            day = date(next_year, next_month, rng.randint(DEADLINE_DAY + 1, 28))
        else:
            after_year, after_month = (next_year + 1, 1) if next_month == 12 else (next_year, next_month + 1)
            day = date(after_year, after_month, rng.randint(1, 20))
    elif rng.random() < 0.15:
        last = (date(next_year, next_month, 1) - timedelta(days=1)).day
        day = date(year, month, rng.randint(last - 5, last))
    else:
        day = date(next_year, next_month, rng.choices(range(1, DEADLINE_DAY + 1), weights=(3, 5, 8, 9, 9, 9, 8, 6, 4, 3))[0])
    if rng.random() < 0.08:
        hour = rng.randint(19, 22)
    else:
        hour = rng.choices(range(7, 18), weights=(3, 8, 9, 9, 6, 2, 5, 8, 8, 7, 4))[0]
    return datetime(day.year, day.month, day.day, hour, rng.randint(0, 59), tzinfo=VIETNAM_TIME)


def first_version(submission: dict, plan: CellPlan) -> dict:
    """The earlier, wrong version of a resubmitted report: a typo in one value, or a club forgotten."""
    wrong = {
        "header": dict(submission["header"]),
        "values": [dict(r) for r in submission["values"]],
        "clubs": [dict(c) for c in submission["clubs"]],
    }
    wrong["header"]["submitted_at"] = plan.resubmission["first_at"].isoformat()
    pick = plan.resubmission["pick"]
    if plan.resubmission["kind"] == "club" and wrong["clubs"]:
        wrong["clubs"].pop(int(pick * len(wrong["clubs"])))
        return wrong
    rows = [r for r in wrong["values"] if r["value"]] or wrong["values"]
    if rows:
        row = rows[int(pick * len(rows))]
        row["value"] = row["value"] * 10 if row["value"] else 5  # an extra zero typed
    elif wrong["clubs"]:
        wrong["clubs"].pop()
    return wrong
