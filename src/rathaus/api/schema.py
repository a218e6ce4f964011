"""Schema post-processing: document the one error shape on every operation."""

from typing import Any

ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "fields"],
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "fields": {
                    "type": "object",
                    "additionalProperties": {"type": "array", "items": {"type": "string"}},
                },
            },
        }
    },
}
ERROR_DESCRIPTIONS = {
    "400": "Invalid input",
    "401": "Not authenticated",
    "403": "Not allowed",
    "404": "Not found",
    "405": "Method not allowed",
    "406": "Not acceptable",
    "413": "Request body too large",
    "415": "Unsupported media type",
    "429": "Too many requests",
}


def add_error_responses(
    result: dict[str, Any], generator: Any, request: Any, public: bool
) -> dict[str, Any]:
    """Add the Error component and reference it from every operation's 4xx responses."""
    components = result.setdefault("components", {}).setdefault("schemas", {})
    components["Error"] = ERROR_SCHEMA
    ref = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    for path_item in result.get("paths", {}).values():
        for method, operation in path_item.items():
            if method not in {"get", "post", "put", "patch", "delete"}:
                continue
            responses = operation.setdefault("responses", {})
            codes = ["400", "401", "403", "404", "405", "406", "429"]
            if method in {"post", "put", "patch"}:
                codes += ["413", "415"]
            for code in codes:
                responses.setdefault(
                    code, {"description": ERROR_DESCRIPTIONS[code], "content": ref}
                )
    return result
