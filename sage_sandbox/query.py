"""List-endpoint query parameters: validation (Sage-style 400s) and row selection.

The parsed :class:`ListQuery` is pure data; :func:`select` turns it into row positions of a
collection, in the order the page should list them. Selection results are cached per collection
version, so paging through a million rows evaluates the filter once, not five thousand times.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone

import numpy as np

from sage_sandbox.catalog import FILTERS, PRESENTATION_PARAMS, Endpoint
from sage_sandbox.errors import invalid_parameter
from sage_sandbox.store.collection import DELETED, LIVE, Collection, date_to_days

DEFAULT_ITEMS_PER_PAGE = 20
MAX_ITEMS_PER_PAGE = 200
_PAGING = ("page", "items_per_page")

# Sage documents "YYYY-MM-DD", "YYYY-MM-DDThh:mm:ss(+|-)hh:mm" and "YYYY-MM-DDT(+|-)hh:mm";
# ``Z`` is used in its own examples. A "+" sent unencoded arrives as a space and is refused,
# as it would be by Sage: clients must percent-encode offsets.
_TIMESTAMP = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})"
    r"(?:T(?:(\d{2}):(\d{2})(?::(\d{2})(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?)?"
)


@dataclass(frozen=True)
class ListQuery:
    """A validated ``GET /{collection}`` request."""

    page: int = 1
    items_per_page: int = DEFAULT_ITEMS_PER_PAGE
    attributes: tuple[str, ...] | None = None  # None: base only; ("all",): everything
    show_payments_allocations: bool = False
    equals: tuple[tuple[str, str], ...] = ()  # (column, id value)
    excludes: tuple[tuple[str, str], ...] = ()  # (column, id value): not_visible_in
    flags: tuple[tuple[str, bool], ...] = ()
    date_from: int | None = None  # days since epoch, inclusive
    date_to: int | None = None
    updated_since: float | None = None  # epoch seconds, inclusive
    updated_from_day: int | None = None
    updated_to_day: int | None = None
    deleted_since: float | None = None  # epoch seconds, exclusive
    search: str | None = None
    has_attachments: bool | None = None
    sort: tuple[str, bool] | None = None  # (attribute, descending)
    echo: tuple[tuple[str, str], ...] = field(default=())  # params other than paging, in order

    @property
    def all_attributes(self) -> bool:
        return self.attributes == ("all",)

    def selection_key(self) -> tuple[object, ...]:
        """Everything that decides which rows are listed and in what order (not the page)."""
        return (
            self.equals,
            self.excludes,
            self.flags,
            self.date_from,
            self.date_to,
            self.updated_since,
            self.updated_from_day,
            self.updated_to_day,
            self.deleted_since,
            self.search,
            self.has_attachments,
            self.sort,
        )


def parse_timestamp(name: str, value: str) -> float:
    """Epoch seconds of a Sage filter timestamp; a date alone means midnight UTC."""
    match = _TIMESTAMP.fullmatch(value)
    if not match:
        raise invalid_parameter(
            name,
            f"{name} must be a date (YYYY-MM-DD) or date-time (YYYY-MM-DDThh:mm:ss+hh:mm); got {value!r}",
        )
    year, month, day, hour, minute, second, fraction, offset = match.groups()
    tz = _offset(name, offset)
    try:
        moment = datetime(
            int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0), tzinfo=tz
        )
    except ValueError as exc:
        raise invalid_parameter(name, f"{name} is not a valid date-time: {value!r}") from exc
    return moment.timestamp() + (float(fraction) if fraction else 0.0)


def parse_day(name: str, value: str) -> int:
    """Days since 1970 of the calendar date a date or date-time filter names."""
    parse_timestamp(name, value)  # validates the whole value
    return date_to_days(value[:10])


def _offset(name: str, text: str | None) -> timezone:
    if text is None or text == "Z":
        return UTC
    sign = 1 if text[0] == "+" else -1
    digits = text[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:])
    if hours > 23 or minutes > 59:
        raise invalid_parameter(name, f"{name} has an invalid UTC offset {text!r}")
    return timezone(sign * timedelta(hours=hours, minutes=minutes))


def parse_bool(name: str, value: str) -> bool:
    lowered = value.lower()
    if lowered in ("true", "1"):
        return True
    if lowered in ("false", "0"):
        return False
    raise invalid_parameter(name, f"{name} must be true or false; got {value!r}")


def parse_int(name: str, value: str, minimum: int, maximum: int | None = None) -> int:
    try:
        number = int(value)
    except ValueError:
        raise invalid_parameter(name, f"{name} must be an integer; got {value!r}") from None
    if number < minimum or (maximum is not None and number > maximum):
        bound = f"between {minimum} and {maximum}" if maximum is not None else f"at least {minimum}"
        raise invalid_parameter(name, f"{name} must be {bound}; got {number}")
    return number


def parse_attributes(value: str | None) -> tuple[str, ...] | None:
    if value is None or value == "":
        return None
    names = tuple(part.strip() for part in value.split(",") if part.strip())
    return ("all",) if "all" in names else names


def _verbatim(_name: str, value: str) -> str:
    return value


# Parameters that set one field of ListQuery: name -> (field, parser(name, value)).
_QUERY_FIELDS: dict[str, tuple[str, Callable[[str, str], object]]] = {
    "show_payments_allocations": ("show_payments_allocations", parse_bool),
    "updated_or_created_since": ("updated_since", parse_timestamp),
    "deleted_since": ("deleted_since", parse_timestamp),
    "updated_from_date": ("updated_from_day", parse_day),
    "updated_to_date": ("updated_to_day", parse_day),
    "search": ("search", _verbatim),
    "has_attachments": ("has_attachments", parse_bool),
    "from_date": ("date_from", parse_day),
    "to_date": ("date_to", parse_day),
}
_SWITCH_PREFIXES = ("show_", "exclude_", "include_", "filter_")  # presentation switches that are booleans


@dataclass
class _RowFilters:
    """The ``*_id``, flag and ``not_visible_in`` filters of a query, in the order they came."""

    equals: list[tuple[str, str]] = field(default_factory=list)
    excludes: list[tuple[str, str]] = field(default_factory=list)
    flags: list[tuple[str, bool]] = field(default_factory=list)

    def add(self, name: str, value: str) -> None:
        spec = FILTERS[name]
        if name == "not_visible_in":
            self.excludes.append((spec.column, value))
        elif spec.kind == "flag":
            self.flags.append((spec.column, parse_bool(name, value)))
        else:
            self.equals.append((spec.column, value))


def parse_list_query(endpoint: Endpoint, params: list[tuple[str, str]]) -> ListQuery:
    """Validate ``GET /{endpoint}`` parameters; unknown parameters are ignored, as Sage does."""
    values = dict(params)
    kw: dict[str, object] = {}
    if "page" in values:
        kw["page"] = parse_int("page", values["page"], 1)
    if "items_per_page" in values:
        kw["items_per_page"] = parse_int("items_per_page", values["items_per_page"], 1, MAX_ITEMS_PER_PAGE)
    kw["attributes"] = parse_attributes(values.get("attributes"))
    filters = _RowFilters()
    allowed = set(endpoint.list_params)
    for name, value in values.items():
        if name not in allowed:
            continue
        if name in endpoint.not_row_filters:
            parse_timestamp(name, value)  # validated; it selects nothing here
        elif name in _QUERY_FIELDS:
            query_field, parse = _QUERY_FIELDS[name]
            kw[query_field] = parse(name, value)
        elif name in FILTERS:
            filters.add(name, value)
        elif name in PRESENTATION_PARAMS and name.startswith(_SWITCH_PREFIXES):
            parse_bool(name, value)
    if "sort" in values:
        kw["sort"] = _parse_sort(endpoint, values["sort"])
    kw["equals"] = tuple(filters.equals)
    kw["excludes"] = tuple(filters.excludes)
    kw["flags"] = tuple(filters.flags)
    kw["echo"] = tuple((k, v) for k, v in params if k not in _PAGING)
    return ListQuery(**kw)  # type: ignore[arg-type]


def _parse_sort(endpoint: Endpoint, value: str) -> tuple[str, bool]:
    attribute, _, direction = value.partition(":")
    if not endpoint.sort:
        raise invalid_parameter("sort", f"/{endpoint.name} cannot be sorted")
    if attribute not in endpoint.sort:
        raise invalid_parameter(
            "sort", f"sort attribute must be one of {', '.join(endpoint.sort)}; got {attribute!r}"
        )
    if direction not in ("", "asc", "desc"):
        raise invalid_parameter("sort", f"sort direction must be asc or desc; got {direction!r}")
    return attribute, direction == "desc"


_CACHED_SELECTIONS = 16


def select(collection: Collection, query: ListQuery) -> np.ndarray:
    """Positions of the rows ``query`` lists, in listing order.

    Cached on the collection per version: paging through a million rows evaluates the filter
    once, and any write to the collection makes the cached selections stale.
    """
    cache = collection.selections
    key = (collection.version, query.selection_key())
    cached = cache.get(key)
    if cached is not None:
        cache.move_to_end(key)
        return cached
    positions = _evaluate(collection, query)
    cache[key] = positions
    while len(cache) > _CACHED_SELECTIONS:
        cache.popitem(last=False)
    return positions


def _evaluate(collection: Collection, query: ListQuery) -> np.ndarray:
    mask = _state_mask(collection, query)
    _narrow_by_time(collection, query, mask)
    _narrow_by_filters(collection, query, mask)
    positions = np.flatnonzero(mask)
    if query.sort is not None:
        positions = _sorted(collection, positions, *query.sort)
    return positions


def _state_mask(collection: Collection, query: ListQuery) -> np.ndarray:
    """Live rows, or with ``deleted_since`` the rows deleted after it (and still deleted)."""
    state = collection.state_view()
    if query.deleted_since is None:
        live: np.ndarray = state == LIVE
        return live
    mask = np.zeros(len(state), dtype=bool)
    mask[collection.deleted_since(math.floor(query.deleted_since))] = True
    mask &= state == DELETED
    return mask


def _narrow_by_time(collection: Collection, query: ListQuery, mask: np.ndarray) -> None:
    """Keep in ``mask`` the rows in the update-time and document-date windows (a row without a
    date is outside any date window)."""
    updated = collection.updated_view()
    if query.updated_since is not None:
        mask &= updated >= math.ceil(query.updated_since)
    if query.updated_from_day is not None:
        mask &= updated >= query.updated_from_day * 86400
    if query.updated_to_day is not None:
        mask &= updated < (query.updated_to_day + 1) * 86400
    if query.date_from is not None or query.date_to is not None:
        days = collection.column_view("date")
        mask &= days >= 0
        if query.date_from is not None:
            mask &= days >= query.date_from
        if query.date_to is not None:
            mask &= days <= query.date_to


def _narrow_by_filters(collection: Collection, query: ListQuery, mask: np.ndarray) -> None:
    """Keep in ``mask`` the rows the ``*_id``, ``not_visible_in``, flag, search and attachment
    filters select."""
    for column, value in query.equals:
        mask &= collection.matches(column, value)
    for column, value in query.excludes:
        mask &= ~collection.matches(column, value)
    for column, flag in query.flags:
        mask &= collection.column_view(column) == int(flag)
    if query.search:
        mask &= collection.search_matches(query.search)
    if query.has_attachments:
        mask[:] = False  # the sandbox's books carry no attachments


def _sorted(collection: Collection, positions: np.ndarray, attribute: str, descending: bool) -> np.ndarray:
    if attribute == "created_at":
        keys = collection.created_view()[positions].astype(np.int64)
    elif attribute == "updated_at":
        keys = collection.updated_view()[positions].astype(np.int64)
    else:
        keys = collection.column_view(attribute)[positions].astype(np.int64)
    order = np.argsort(-keys if descending else keys, kind="stable")
    return positions[order]
