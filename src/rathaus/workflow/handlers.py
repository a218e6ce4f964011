"""Named handlers that service tasks call.

A module registers what its processes may call, in a ``workflow_handlers.py`` module of
its app (imported by ``handlers_load``)::

    from rathaus.workflow.handlers import HandlerContext, workflow_handler

    @workflow_handler("postfach.deliver_notice", retries=5)
    def deliver_notice(context: HandlerContext, *, subject: str, template: str) -> dict:
        message = postfach_message_send(...)
        return {"message_id": message.pk}

A BPMN service task names the handler in ``spiffworkflow:serviceTaskOperator id="..."``;
its ``spiffworkflow:parameter`` values are expressions evaluated in the sandbox and passed
as keyword arguments; the return value (JSON-like) is stored in ``resultVariable``.

The handler runs in a background task, inside the database transaction that also
completes the service task, so database writes of the handler and the step of the
process commit together (or not at all). Work outside the database (e-mail, HTTP) should
be queued by the handler with ``transaction.on_commit``. A handler that raises is retried
with exponential backoff; after its last attempt the instance gets an incident.
``PermanentHandlerError`` skips the retries.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.utils.module_loading import autodiscover_modules

from rathaus.core.models import Municipality

DEFAULT_RETRIES = 3
DEFAULT_BACKOFF_SECONDS = 30
MAX_BACKOFF_SECONDS = 3600


class PermanentHandlerError(Exception):
    """A failure that retrying won't fix (bad data, refused by the other side)."""


@dataclass(frozen=True)
class HandlerContext:
    """What a handler knows about the call."""

    municipality: Municipality
    instance_id: int
    process_key: str
    element_id: str
    business_object: Any
    variables: dict[str, Any]
    attempt: int


@dataclass(frozen=True)
class Handler:
    name: str
    function: Callable[..., Any]
    retries: int = DEFAULT_RETRIES
    backoff_seconds: int = DEFAULT_BACKOFF_SECONDS
    description: str = field(default="", compare=False)


_registry: dict[str, Handler] = {}


def workflow_handler(
    name: str, *, retries: int = DEFAULT_RETRIES, backoff_seconds: int = DEFAULT_BACKOFF_SECONDS
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register ``function`` as the handler called ``name`` (e.g. ``postfach.deliver_notice``).

    ``retries`` is how often a failing call is repeated before an incident; a process
    model may override it per task (``spiffworkflow:retry retries=".." backoff_base=".."``).
    """

    def register(function: Callable[..., Any]) -> Callable[..., Any]:
        _registry[name] = Handler(
            name=name,
            function=function,
            retries=retries,
            backoff_seconds=backoff_seconds,
            description=(function.__doc__ or "").strip().splitlines()[0]
            if function.__doc__
            else "",
        )
        return function

    return register


def handler_unregister(name: str) -> None:
    """Forget a handler (for tests that register their own)."""
    _registry.pop(name, None)


_discovered = False


def handlers_load() -> dict[str, Handler]:
    """Every registered handler, after importing each app's ``workflow_handlers`` module."""
    global _discovered
    if not _discovered:
        # Once per process: looking for the modules touches the file system.
        autodiscover_modules("workflow_handlers")
        _discovered = True
    return dict(_registry)


def handler_get(name: str) -> Handler | None:
    """The handler registered as ``name``, or None."""
    handlers_load()
    return _registry.get(name)


def backoff_seconds(*, base: int, attempt: int) -> int:
    """Delay before attempt ``attempt + 1``: base, 2x base, 4x base, ... at most an hour."""
    return int(min(base * 2 ** max(attempt - 1, 0), MAX_BACKOFF_SECONDS))
