"""The community file: a building described in TOML, loaded as typed values.

The file holds content (the community, its stations, organizations, member
categories, members and their roles), never deployment settings such as
database URLs or tokens, which come from the command line or `HUARONG_*`
variables. Parsing is strict: an unknown key, a wrong type or a dangling
reference is reported with its place in the file, all problems at once,
before anything touches the database.
"""

from __future__ import annotations

import tomllib
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta
from fractions import Fraction
from pathlib import Path
from typing import Any, TypeVar, get_args, get_origin

import attrs
import cattrs
from cattrs.errors import (
    AttributeValidationNote,
    ClassValidationError,
    ForbiddenExtraKeysError,
    IterableValidationError,
    IterableValidationNote,
)

from huarong_core.config_gatherings import (
    ENTRY_TYPES as GATHERING_ENTRIES,
)
from huarong_core.config_gatherings import (
    ClubEntry,
    EventEntry,
    GatheringsSection,
    SalonEntry,
    VenueEntry,
    check_gatherings,
)
from huarong_core.config_library import ENTRY_TYPES as LIBRARY_ENTRIES
from huarong_core.config_library import LibrarySection, check_library
from huarong_core.config_services import ENTRY_TYPES as SERVICE_ENTRIES
from huarong_core.config_services import HoursEntry, ServiceEntry, check_services
from huarong_core.config_volunteering import ENTRY_TYPES as VOLUNTEERING_ENTRIES
from huarong_core.config_volunteering import (
    SmileWallSection,
    VolunteeringSection,
    check_volunteering,
)
from huarong_core.domain.communities import DEFAULT_TIMEZONE
from huarong_core.domain.members import PLATFORM_PATTERN
from huarong_core.domain.points import Campaign, Period, Rule, RuleFilters, Streak
from huarong_core.domain.roles import ALLOWED_SCOPES, Role, ScopeKind
from huarong_core.domain.shop import ShopItem
from huarong_core.domain.text import LocalizedText
from huarong_core.domain.validation import KEY_PATTERN
from huarong_core.errors import ConfigError, InvalidValue, Problem
from huarong_core.i18n import DEFAULT_LOCALE, SUPPORTED_LOCALES

T = TypeVar("T")


@attrs.frozen
class CommunitySection:
    key: str
    name: LocalizedText
    timezone: str = DEFAULT_TIMEZONE
    locale: str = DEFAULT_LOCALE
    default_category: str | None = None


@attrs.frozen
class CategoryEntry:
    key: str
    name: LocalizedText


@attrs.frozen
class StationEntry:
    key: str
    name: LocalizedText
    floor: str | None = None
    description: LocalizedText | None = None
    hours: tuple[HoursEntry, ...] = ()
    """`[{ days = "mon-fri", opens = "08:30", closes = "17:30" }]`, local time."""
    lead: str | None = None
    """The member key of the station lead, to whom breached SLAs escalate."""


@attrs.frozen
class OrganizationEntry:
    key: str
    name: str
    floor: str | None = None
    industry: str | None = None
    has_party_branch: bool = False


@attrs.frozen
class IdentityEntry:
    platform: str
    id: str


@attrs.frozen
class MemberEntry:
    key: str
    name: str
    organization: str | None = None
    categories: tuple[str, ...] = ()
    locale: str | None = None
    identities: tuple[IdentityEntry, ...] = ()


@attrs.frozen
class RoleEntry:
    member: str
    role: str
    scope: str = "community"


@attrs.frozen
class FiltersEntry:
    categories: tuple[str, ...] = ()
    clubs: tuple[str, ...] = ()
    series: tuple[str, ...] = ()
    stations: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()


@attrs.frozen
class CapsEntry:
    """At most this many per member per local day / week / month / year."""

    day: int | None = None
    week: int | None = None
    month: int | None = None
    year: int | None = None

    def as_dict(self) -> dict[str, int]:
        return {k: v for k, v in attrs.asdict(self).items() if v is not None}


@attrs.frozen
class StreakEntry:
    weeks: int
    bonus: int


@attrs.frozen
class CampaignEntry:
    multiplier: float
    starts: datetime
    ends: datetime


@attrs.frozen
class RuleEntry:
    """A points rule as written in the file (and stored, to be edited at run time)."""

    key: str
    name: LocalizedText
    trigger: str
    points: int = 0
    per_unit: int | None = None
    filters: FiltersEntry = attrs.field(factory=FiltersEntry)
    caps: CapsEntry = attrs.field(factory=CapsEntry)
    point_caps: CapsEntry = attrs.field(factory=CapsEntry)
    cooldown_minutes: int | None = None
    once_per_target: bool = False
    streak: StreakEntry | None = None
    campaigns: tuple[CampaignEntry, ...] = ()
    approval: bool = False
    expires_after_months: int | None = None
    enabled: bool = True


@attrs.frozen
class PointsSection:
    season: str = "quarter"
    rules: tuple[RuleEntry, ...] = ()


@attrs.frozen
class LimitEntry:
    count: int
    period: str


@attrs.frozen
class ShopItemEntry:
    key: str
    name: LocalizedText
    price: int
    stock: int
    description: LocalizedText | None = None
    category: str | None = None
    available_from: datetime | None = None
    available_until: datetime | None = None
    limit: LimitEntry | None = None
    station: str | None = None
    enabled: bool = True


@attrs.frozen
class ShopSection:
    items: tuple[ShopItemEntry, ...] = ()


@attrs.frozen
class CommunityConfig:
    community: CommunitySection
    categories: tuple[CategoryEntry, ...] = ()
    stations: tuple[StationEntry, ...] = ()
    organizations: tuple[OrganizationEntry, ...] = ()
    members: tuple[MemberEntry, ...] = ()
    roles: tuple[RoleEntry, ...] = ()
    points: PointsSection = attrs.field(factory=PointsSection)
    shop: ShopSection = attrs.field(factory=ShopSection)
    gatherings: GatheringsSection = attrs.field(factory=GatheringsSection)
    clubs: tuple[ClubEntry, ...] = ()
    venues: tuple[VenueEntry, ...] = ()
    salons: tuple[SalonEntry, ...] = ()
    events: tuple[EventEntry, ...] = ()
    services: tuple[ServiceEntry, ...] = ()
    library: LibrarySection = attrs.field(factory=LibrarySection)
    volunteering: VolunteeringSection = attrs.field(factory=VolunteeringSection)
    smile_wall: SmileWallSection = attrs.field(factory=SmileWallSection)


class _WrongType(TypeError):
    def __init__(self, expected: str, got: object) -> None:
        super().__init__(expected)
        self.expected = expected
        self.got = type(got).__name__


class _OutOfRange(ValueError):
    def __init__(self, value: int) -> None:
        super().__init__(value)
        self.value = value


INT64 = range(-(2**63), 2**63)
"""What a config integer may be: every column it lands in is a 64-bit integer."""


class _BadText(ValueError):
    def __init__(self, locale: str) -> None:
        super().__init__(locale)
        self.locale = locale


def _strict(expected: type, label: str) -> Callable[[Any, Any], Any]:
    def structure(value: Any, _: Any) -> Any:
        # bool is an int in Python but not in a config file.
        if not isinstance(value, expected) or (expected is not bool and isinstance(value, bool)):
            raise _WrongType(label, value)
        if isinstance(value, int) and value not in INT64:
            raise _OutOfRange(value)
        return value

    return structure


def _text(value: Any, _: Any) -> LocalizedText:
    if isinstance(value, str):
        return LocalizedText.plain(value)
    if isinstance(value, dict) and value:
        for locale, text in value.items():
            # "*" is how a plain string is stored (one text for every locale).
            if locale not in SUPPORTED_LOCALES and locale != "*":
                raise _BadText(locale)
            if not isinstance(text, str):
                raise _WrongType("string", text)
        return LocalizedText(value)
    raise _WrongType("text", value)


def _floor(value: Any, _: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise _WrongType("floor", value)
    return str(value)


def _number(value: Any, _: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _WrongType("number", value)
    return float(value)


def _instant(value: Any, _: Any) -> datetime:
    """A TOML offset date-time (or its ISO text, as stored): never a naive one."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise _WrongType("datetime", value) from None
    if not isinstance(value, datetime) or value.utcoffset() is None:
        raise _WrongType("datetime", value)
    return value


def _day(value: Any, _: Any) -> date:
    """A TOML local date (`2026-01-01`), or its ISO text."""
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise _WrongType("date", value) from None
    if not isinstance(value, date) or isinstance(value, datetime):
        raise _WrongType("date", value)
    return value


def _converter() -> cattrs.Converter:
    conv = cattrs.Converter(forbid_extra_keys=True)
    conv.register_structure_hook(str, _strict(str, "string"))
    conv.register_structure_hook(int, _strict(int, "integer"))
    conv.register_structure_hook(bool, _strict(bool, "boolean"))
    conv.register_structure_hook(float, _number)
    conv.register_structure_hook(datetime, _instant)
    conv.register_structure_hook(date, _day)
    conv.register_structure_hook(LocalizedText, _text)
    conv.register_structure_hook_func(_is_tuple, _arrays(conv))
    conv.register_structure_hook_func(lambda t: t in _ENTRIES, _tables(conv))
    return conv


_ENTRIES = (
    CommunitySection,
    CategoryEntry,
    StationEntry,
    OrganizationEntry,
    IdentityEntry,
    MemberEntry,
    RoleEntry,
    FiltersEntry,
    CapsEntry,
    StreakEntry,
    CampaignEntry,
    RuleEntry,
    PointsSection,
    LimitEntry,
    ShopItemEntry,
    ShopSection,
    *GATHERING_ENTRIES,
    *SERVICE_ENTRIES,
    *LIBRARY_ENTRIES,
    *VOLUNTEERING_ENTRIES,
)


def _is_tuple(cls: Any) -> bool:
    origin: object = get_origin(cls)
    return origin is tuple


def _arrays(conv: cattrs.Converter) -> Callable[[Any, type[Any]], Any]:
    """Lists must be TOML arrays: a lone string is not a list of its characters."""

    def structure(value: Any, cls: type[Any]) -> Any:
        if not isinstance(value, list):
            raise _WrongType("array", value)
        item = get_args(cls)[0]
        return tuple(conv.structure(value, list[item]))  # type: ignore[valid-type]

    return structure


def _tables(conv: cattrs.Converter) -> Callable[[Any, type[Any]], Any]:
    """Entries must be TOML tables. Floors may be written `29` or `"B1"`; all else is strict."""
    from cattrs.gen import make_dict_structure_fn, override

    def factory(cls: type[Any]) -> Callable[[Any, type[Any]], Any]:
        if cls in (StationEntry, OrganizationEntry, VenueEntry):
            return make_dict_structure_fn(
                cls, conv, _cattrs_forbid_extra_keys=True, floor=override(struct_hook=_floor)
            )
        return make_dict_structure_fn(cls, conv, _cattrs_forbid_extra_keys=True)

    made = {cls: factory(cls) for cls in _ENTRIES}

    def structure(value: Any, cls: type[Any]) -> Any:
        if not isinstance(value, dict):
            raise _WrongType("table", value)
        return made[cls](value, cls)

    return structure


_CONVERTER = _converter()


def _problems_from(exc: BaseException, path: str) -> Iterator[Problem]:
    if isinstance(exc, ForbiddenExtraKeysError):
        for key in sorted(exc.extra_fields):
            yield Problem(_join(path, key), "config.unknown_key", {"key": key})
    elif isinstance(exc, (ClassValidationError, IterableValidationError)):
        with_notes, without = exc.group_exceptions()
        for sub, note in with_notes:
            if isinstance(note, AttributeValidationNote):
                yield from _problems_from(sub, _join(path, note.name))
            elif isinstance(note, IterableValidationNote):
                yield from _problems_from(sub, f"{path}[{note.index}]")
            else:
                yield from _problems_from(sub, path)
        for sub in without:
            yield from _problems_from(sub, path)
    elif isinstance(exc, KeyError):
        yield Problem(path, "config.missing_key", {})
    elif isinstance(exc, _WrongType):
        yield Problem(
            path,
            "config.wrong_type",
            {"expected": exc.expected, "got": exc.got},
            {"expected": "type"},
        )
    elif isinstance(exc, _OutOfRange):
        shown = str(exc.value)
        shown = shown if len(shown) <= 24 else f"{shown[:20]}…"
        yield Problem(path, "config.out_of_range", {"value": shown})
    elif isinstance(exc, _BadText):
        yield Problem(path, "config.unknown_locale", {"value": exc.locale})
    else:
        yield Problem(path, "config.invalid", {"detail": str(exc)})


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def parse_config(text: str, *, source: str = "<string>") -> CommunityConfig:
    """Parse and validate a community file's text; raise `ConfigError` listing every problem."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(
            file=source, problems=(Problem("-", "config.syntax", {"detail": str(exc)}),)
        ) from None
    if not isinstance(raw.get("community"), dict):
        raise ConfigError(file=source, problems=(Problem("community", "config.missing_key"),))
    try:
        config = _CONVERTER.structure(raw, CommunityConfig)
    except (ClassValidationError, IterableValidationError, ForbiddenExtraKeysError) as exc:
        raise ConfigError(file=source, problems=tuple(_problems_from(exc, ""))) from None
    problems = [
        *check_config(config),
        *check_points(config),
        *check_gatherings(config),
        *check_services(config),
        *check_library(config),
        *check_volunteering(config),
    ]
    if problems:
        raise ConfigError(file=source, problems=tuple(problems))
    return config


def load_config(path: str | Path) -> CommunityConfig:
    """Read a community file; a missing or unreadable file is a `ConfigError` too."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ConfigError(file=str(file), problems=(Problem("-", "config.no_file"),)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(
            file=str(file), problems=(Problem("-", "config.unreadable", {"detail": str(exc)}),)
        ) from None
    return parse_config(text, source=str(file))


def _bad_key(where: str, value: str) -> Problem:
    return Problem(where, "config.bad_key", {"value": value})


def _duplicates(where: str, keys: list[str]) -> Iterator[Problem]:
    for key, count in Counter(keys).items():
        if count > 1:
            yield Problem(where, "config.duplicate", {"value": key})


def check_config(config: CommunityConfig) -> Iterator[Problem]:
    """Checks that need the whole file: formats, uniqueness, references within it.

    References to things already in the database (an organization imported
    from CSV, say) are checked when the file is applied.
    """
    from huarong_core.domain.validation import require_timezone

    section = config.community
    if not KEY_PATTERN.match(section.key):
        yield _bad_key("community.key", section.key)
    try:
        require_timezone("timezone", section.timezone)
    except InvalidValue:
        yield Problem("community.timezone", "config.unknown_timezone", {"value": section.timezone})
    if section.locale not in SUPPORTED_LOCALES:
        yield Problem("community.locale", "config.unknown_locale", {"value": section.locale})

    for kind in ("categories", "stations", "organizations", "members"):
        entries: tuple[Any, ...] = getattr(config, kind)
        for i, entry in enumerate(entries):
            if not KEY_PATTERN.match(entry.key):
                yield _bad_key(f"{kind}[{i}].key", entry.key)
        yield from _duplicates(kind, [e.key for e in entries])
    yield from _duplicates("organizations", [o.name for o in config.organizations])

    category_keys = {c.key for c in config.categories}
    if section.default_category is not None and section.default_category not in category_keys:
        yield Problem(
            "community.default_category",
            "config.unknown_category",
            {"value": section.default_category},
        )
    station_keys = {s.key for s in config.stations}
    member_keys = {m.key for m in config.members}
    for i, member in enumerate(config.members):
        for category in member.categories:
            if category not in category_keys:
                yield Problem(
                    f"members[{i}].categories", "config.unknown_category", {"value": category}
                )
        if member.locale is not None and member.locale not in SUPPORTED_LOCALES:
            yield Problem(f"members[{i}].locale", "config.unknown_locale", {"value": member.locale})
        for j, identity in enumerate(member.identities):
            if not PLATFORM_PATTERN.match(identity.platform):
                yield Problem(
                    f"members[{i}].identities[{j}].platform",
                    "config.bad_platform",
                    {"value": identity.platform},
                )
    identities = [(i.platform, i.id) for m in config.members for i in m.identities]
    for (platform, external_id), count in Counter(identities).items():
        if count > 1:
            yield Problem("members", "config.duplicate", {"value": f"{platform}:{external_id}"})

    for i, grant in enumerate(config.roles):
        where = f"roles[{i}]"
        if grant.member not in member_keys:
            yield Problem(f"{where}.member", "config.unknown_member", {"value": grant.member})
        try:
            role = Role(grant.role)
        except ValueError:
            yield Problem(f"{where}.role", "config.unknown_role", {"value": grant.role})
            continue
        kind_text, _, scope_key = grant.scope.partition(":")
        try:
            kind = ScopeKind(kind_text)
        except ValueError:
            yield Problem(f"{where}.scope", "config.bad_scope", {"value": grant.scope})
            continue
        if kind not in ALLOWED_SCOPES[role]:
            yield Problem(
                f"{where}.scope",
                "config.scope_not_allowed",
                {"value": grant.scope, "role": role.value},
                {"role": "role"},
            )
        elif kind is ScopeKind.STATION and scope_key not in station_keys:
            yield Problem(f"{where}.scope", "config.unknown_station", {"value": scope_key})
        elif kind is ScopeKind.CLUB and scope_key not in {c.key for c in config.clubs}:
            yield Problem(f"{where}.scope", "config.unknown_club", {"value": scope_key})
        elif kind is ScopeKind.COMMUNITY and scope_key:
            yield Problem(f"{where}.scope", "config.bad_scope", {"value": grant.scope})
    yield from _duplicates("roles", [f"{g.member} {g.role} {g.scope}" for g in config.roles])


# --- points and shop entries as domain values ------------------------------------------


MAX_COOLDOWN_MINUTES = 10 * 366 * 24 * 60
"""Ten years: longer is a typo, and far larger overflows a duration."""


def _cooldown(minutes: int | None) -> timedelta | None:
    if minutes is None:
        return None
    if minutes < 0:
        raise InvalidValue(field="cooldown", value=str(minutes), reason="negative_cooldown")
    if minutes > MAX_COOLDOWN_MINUTES:
        raise InvalidValue(field="cooldown", value=str(minutes), reason="out_of_range")
    return timedelta(minutes=minutes)


def rule_from_entry(entry: RuleEntry) -> Rule:
    """The domain rule a file entry describes; raises `InvalidValue` naming a bad field."""
    return Rule(
        key=entry.key,
        name=entry.name,
        trigger=entry.trigger,
        points=entry.points,
        per_unit=entry.per_unit,
        filters=RuleFilters(
            categories=frozenset(entry.filters.categories),
            clubs=frozenset(entry.filters.clubs),
            series=frozenset(entry.filters.series),
            stations=frozenset(entry.filters.stations),
            tags=frozenset(entry.filters.tags),
        ),
        caps={Period(k): v for k, v in entry.caps.as_dict().items()},
        point_caps={Period(k): v for k, v in entry.point_caps.as_dict().items()},
        cooldown=_cooldown(entry.cooldown_minutes),
        once_per_target=entry.once_per_target,
        streak=None if entry.streak is None else Streak(entry.streak.weeks, entry.streak.bonus),
        campaigns=tuple(
            Campaign(Fraction(str(c.multiplier)), c.starts, c.ends) for c in entry.campaigns
        ),
        approval=entry.approval,
        expires_after_months=entry.expires_after_months,
        enabled=entry.enabled,
    )


def item_from_entry(entry: ShopItemEntry) -> ShopItem:
    period = None
    if entry.limit is not None:
        try:
            period = Period(entry.limit.period)
        except ValueError:
            raise InvalidValue(
                field="limit", value=entry.limit.period, reason="bad_limit"
            ) from None
    return ShopItem(
        key=entry.key,
        name=entry.name,
        price=entry.price,
        stock=entry.stock,
        description=entry.description,
        category=entry.category,
        available_from=entry.available_from,
        available_until=entry.available_until,
        limit_count=None if entry.limit is None else entry.limit.count,
        limit_period=period,
        station=entry.station,
        enabled=entry.enabled,
    )


def structure_rule_entry(data: Any) -> RuleEntry:
    """A stored rule definition back as an entry (the same strict rules as the file)."""
    return _CONVERTER.structure(data, RuleEntry)


def structure_item_entry(data: Any) -> ShopItemEntry:
    return _CONVERTER.structure(data, ShopItemEntry)


SEASONS = ("month", "quarter", "half", "year")


def check_points(config: CommunityConfig) -> Iterator[Problem]:
    """Points rules and shop items: valid values and references to the file's contents."""
    if config.points.season not in SEASONS:
        yield Problem("points.season", "config.bad_season", {"value": config.points.season})
    categories = {c.key for c in config.categories}
    stations = {s.key for s in config.stations}
    for i, entry in enumerate(config.points.rules):
        where = f"points.rules[{i}]"
        try:
            rule_from_entry(entry)
        except InvalidValue as exc:
            yield Problem.from_error(where, exc)
        for category in entry.filters.categories:
            if category not in categories:
                yield Problem(
                    f"{where}.filters.categories", "config.unknown_category", {"value": category}
                )
        for station in entry.filters.stations:
            if station not in stations:
                yield Problem(
                    f"{where}.filters.stations", "config.unknown_station", {"value": station}
                )
    yield from _duplicates("points.rules", [r.key for r in config.points.rules])
    for i, item in enumerate(config.shop.items):
        where = f"shop.items[{i}]"
        try:
            item_from_entry(item)
        except InvalidValue as exc:
            yield Problem.from_error(where, exc)
        if item.station is not None and item.station not in stations:
            yield Problem(f"{where}.station", "config.unknown_station", {"value": item.station})
    yield from _duplicates("shop.items", [i.key for i in config.shop.items])
