"""Page-number pagination as API.md fixes it: ``?page=&perPage=`` (default 20, max 200)."""

from __future__ import annotations

from typing import Any

from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response


class PagePagination(PageNumberPagination):
    page_size = 20
    page_size_query_param = "perPage"
    max_page_size = 200

    def get_paginated_response(self, data: Any) -> Response:
        assert self.page is not None
        return Response(
            {
                "results": data,
                "total": self.page.paginator.count,
                "page": self.page.number,
                "per_page": self.page.paginator.per_page,
            }
        )

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        return {
            "type": "object",
            "required": ["results", "total", "page", "perPage"],
            "properties": {
                "results": schema,
                "total": {"type": "integer"},
                "page": {"type": "integer"},
                "perPage": {"type": "integer"},
            },
        }
