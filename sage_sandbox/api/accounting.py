"""``/v3.1``: the user, businesses, every list and item endpoint, and financial settings.

Each request is authenticated by its bearer token; business-scoped endpoints then resolve
``X-Business`` (absent: the user's lead business; unknown or someone else's: refused as the
dialect says), check that the business offers the list (its country and product, and the
config's ``unavailable``; else ``404``) and that the user's roles there allow the route (the
swagger's access rule; else ``403``).
"""

from __future__ import annotations

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sage_sandbox.api.rendering import envelope, select_attributes, without_allocations
from sage_sandbox.books.business import Business, iso
from sage_sandbox.catalog import ENDPOINTS, SINGLETONS, route_rules
from sage_sandbox.errors import JSON, SageError, not_found
from sage_sandbox.oauth import AccessGrant
from sage_sandbox.query import parse_attributes, parse_bool, parse_list_query, select
from sage_sandbox.sandbox import Sandbox

_ACCESS_DENIED = "Access denied. The access token is missing, invalid, expired or revoked."


def json_response(body: bytes, business: Business | None = None, status: int = 200) -> Response:
    headers = {"X-Business": business.id} if business is not None else None
    return Response(body, status_code=status, media_type=JSON, headers=headers)


class AccountingApi:
    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox

    def routes(self) -> list[Route]:
        return [
            Route("/v3.1/user", self.user, methods=["GET"]),
            Route("/v3.1/businesses", self.businesses, methods=["GET"]),
            Route("/v3.1/businesses/{key}", self.business, methods=["GET"]),
            Route("/v3.1/{resource}", self.collection, methods=["GET"]),
            Route("/v3.1/{resource}/{key}", self.item, methods=["GET"]),
        ]

    # -- authentication ------------------------------------------------------------------------

    def grant(self, request: Request) -> AccessGrant:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        grant = self.sandbox.auth.check_access(token.strip()) if scheme.lower() == "bearer" else None
        if grant is None:
            raise SageError(401, "AuthorizationFailure", _ACCESS_DENIED)
        return grant

    def business_for(self, request: Request) -> Business:
        grant = self.grant(request)
        world = self.sandbox.world
        key = request.headers.get("x-business")
        if key is None:
            return world.businesses[world.businesses_of(grant.user_id)[0].id]
        business = world.businesses.get(key.strip())
        if business is None or world.owner[business.id] != grant.user_id:
            raise self.sandbox.dialect.foreign_business.error(
                "The user has no access to the business given in X-Business.", "X-Business"
            )
        return business

    def permitted(self, request: Request, name: str, item: bool = False) -> Business:
        """The request's business, once it offers ``name`` and the user's roles there allow it."""
        biz = self.business_for(request)
        dialect = self.sandbox.dialect
        if name in biz.unavailable:
            raise dialect.not_offered.error(f"The path {request.url.path} does not exist for this business.")
        rule, _ = route_rules(name, item)
        if rule is not None and not rule.allows(self.sandbox.roles_in(biz.id)):
            raise dialect.forbidden.error("The user's role does not allow access to this resource.")
        return biz

    # -- users and businesses (the separate User/Business spec) --------------------------------

    async def user(self, request: Request) -> Response:
        grant = self.grant(request)
        user = (
            self.sandbox.world.user
            if grant.user_id == self.sandbox.world.user.id
            else self.sandbox.world.outsider
        )
        return json_response(orjson.dumps(user.row()))

    async def businesses(self, request: Request) -> Response:
        grant = self.grant(request)
        attributes = parse_attributes(request.query_params.get("attributes"))
        owned = self.sandbox.world.businesses_of(grant.user_id)
        items = []
        for biz in owned:
            row = biz.business_row()
            if attributes == ("all",):
                items.append(row)
            else:  # the recorded responses list base attributes in this order
                items.append({"displayed_as": row["displayed_as"], "id": row["id"], "$path": row["$path"]})
        body = {
            "$total": len(items),
            "$page": 1,
            "$next": None,
            "$back": None,
            "$items_per_page": 2147483647,  # sic: snake case and int32 max, as Sage sends it
            "$items": items,
        }
        return json_response(orjson.dumps(body))

    async def business(self, request: Request) -> Response:
        grant = self.grant(request)
        key = request.path_params["key"]
        owned = self.sandbox.world.businesses_of(grant.user_id)
        chosen = owned[0] if key == "lead" else next((b for b in owned if b.id == key), None)
        if chosen is None:
            raise not_found("Business")
        return json_response(orjson.dumps(chosen.business_row()))

    # -- accounting endpoints ------------------------------------------------------------------

    async def collection(self, request: Request) -> Response:
        name = request.path_params["resource"]
        if name in SINGLETONS:
            biz = self.permitted(request, name)
            return json_response(orjson.dumps(biz.financial_settings), biz)
        endpoint = ENDPOINTS.get(name)
        if endpoint is None:
            raise SageError(404, "NotFound", f"The path /{name} does not exist.")
        biz = self.permitted(request, name)
        query = parse_list_query(endpoint, request.query_params.multi_items())
        with self.sandbox.lock:
            collection = biz[name]
            body = envelope(endpoint, collection, select(collection, query), query)
        return json_response(body, biz)

    async def item(self, request: Request) -> Response:
        name, key = request.path_params["resource"], request.path_params["key"]
        endpoint = ENDPOINTS.get(name)
        if endpoint is None:
            raise SageError(404, "NotFound", f"The path /{name}/{key} does not exist.")
        biz = self.permitted(request, name, item=True)
        params = request.query_params
        attributes = parse_attributes(params.get("attributes")) or ("all",)  # items default to all
        show_allocations = "show_payments_allocations" in endpoint.item_params and parse_bool(
            "show_payments_allocations", params.get("show_payments_allocations", "false")
        )
        with self.sandbox.lock:
            collection = biz[name]
            position = collection.position_of(key)
            if position is None or not collection.is_live(position):
                raise not_found(endpoint.model)
            if "mark_as_sent" in endpoint.item_params and parse_bool(
                "mark_as_sent", params.get("mark_as_sent", "true")
            ):
                self._mark_as_sent(biz, name, position)
            data = collection.get_json(position)
        if attributes == ("all",):
            if endpoint.has_payments_allocations and not show_allocations:
                data = without_allocations(data)
        else:
            data = select_attributes(data, attributes, show_allocations)
        return json_response(data, biz)

    def _mark_as_sent(self, biz: Business, name: str, position: int) -> None:
        """``GET /sales_invoices/{key}`` marks the artefact sent unless ``mark_as_sent=false``.

        Sage's spec: "Use this to mark/not mark the artefact as sent. Defaulted to 'true'." A
        read-only extractor must pass ``mark_as_sent=false``; the sandbox moves ``updated_at``
        when it flips ``sent``, so a client that forgets sees its own reads come back as changes.
        """
        collection = biz[name]
        row = collection.get(position)
        if row.get("sent") is False and row["status"]["id"] not in ("DRAFT", "VOID"):
            row["sent"] = True
            row["updated_at"] = iso(self.sandbox.clock.now_ts())
            collection.put(position, row)
