"""Long-running processes of the apps (protocol servers, message ingesters).

An app that needs a process of its own beside the web server and the task worker (the
OCPP central system, an MQTT ingester, an SMTP receiver) registers it here from its
``AppConfig.ready``. ``rathaus serve`` starts the registered daemons that
``RATHAUS_SERVE_DAEMONS`` selects under its supervisor; a production deployment may
instead run each command as a service of its own (docs/deployment.md).
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Daemon:
    name: str
    # The arguments after ``rathaus``, e.g. ("ocpp", "serve").
    argv: tuple[str, ...]
    description: str
    # Started by ``rathaus serve`` unless the operator chooses otherwise: only for
    # daemons that need nothing beyond the embedded default.
    default: bool = False


_REGISTRY: dict[str, Daemon] = {}


def register(daemon: Daemon) -> None:
    """Make ``daemon`` known to ``rathaus serve``; the same name twice is an error."""
    known = _REGISTRY.get(daemon.name)
    if known is not None and known != daemon:
        raise ValueError(f"daemon {daemon.name!r} is already registered")
    _REGISTRY[daemon.name] = daemon


def registered() -> list[Daemon]:
    """Every registered daemon, by name."""
    return sorted(_REGISTRY.values(), key=lambda daemon: daemon.name)


def daemons_select(choice: str) -> list[Daemon]:
    """The daemons that ``choice`` names.

    ``auto`` (the default) selects those registered with ``default=True``, ``none`` none,
    ``all`` all, anything else is a comma-separated list of names. An unknown name
    raises ValueError naming the known ones, so a typo cannot silently drop a process.
    """
    choice = choice.strip()
    if choice in ("", "auto"):
        return [daemon for daemon in registered() if daemon.default]
    if choice == "none":
        return []
    if choice == "all":
        return registered()
    names = [name.strip() for name in choice.split(",") if name.strip()]
    unknown = [name for name in names if name not in _REGISTRY]
    if unknown:
        known = ", ".join(daemon.name for daemon in registered()) or "none"
        raise ValueError(f"unknown daemon(s) {', '.join(unknown)}; known: {known}")
    return [_REGISTRY[name] for name in dict.fromkeys(names)]
