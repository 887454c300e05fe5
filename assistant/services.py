"""Services the assistant talks to (chroma server, PostgreSQL, an LLM endpoint): one readable error when one is down.

A connection failure surfaces as `ServiceUnavailable`, whose message names the service and its address in one
line; the CLI prints it and exits 2, ask() returns it as an answer with status `error`. Nothing else stops:
dose, policy and code answers need neither the index nor the database.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from assistant.errors import AssistantError


class ServiceUnavailable(AssistantError):
    """A server the assistant needs cannot be reached; the message names it and its address."""

    def __init__(self, service: str, address: str, reason: str = "", hint: str = ""):
        self.service, self.address = service, address
        why = f" ({one_line(reason)})" if reason else ""
        super().__init__(f"The {service} at {address} is not reachable{why}.{' ' + hint if hint else ''}")


class AuditUnavailable(AssistantError):
    """The audit log cannot be written, and ASSISTANT_AUDIT_REQUIRED=1 refuses to go on without it."""


def one_line(text: object, limit: int = 160) -> str:
    """A message squeezed onto one line, cut at `limit` characters (driver errors run to many lines)."""
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def db_address(url: str) -> str:
    """host:port/dbname of a database URL, without user or password (safe to print)."""
    parts = urlsplit(url)
    host = parts.hostname or "localhost"
    port = parts.port or 5432
    return f"{host}:{port}{parts.path or ''}"


_CONNECTION = re.compile(
    r"could not connect|connection (?:refused|reset|timed out|failed)|name or service not known|"
    r"failed to establish|no route to host|server closed the connection|timed out|temporarily unavailable|"
    r"network is unreachable|connecterror|remoteprotocolerror|readerror|connecttimeout",
    re.IGNORECASE,
)


def is_connection_error(exc: BaseException) -> bool:
    """A failure to reach a server (as opposed to a bad request): OS socket errors, httpx/psycopg/openai ones."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, AssistantError):  # the app's own refusals (a busy index ...) are not connection failures
            return isinstance(exc, ServiceUnavailable)
        if isinstance(exc, (ConnectionError, TimeoutError)):
            return True
        name = type(exc).__name__
        if name in ("ConnectError", "ConnectTimeout", "ReadTimeout", "APIConnectionError", "APITimeoutError",
                    "RemoteProtocolError", "OperationalError") or _CONNECTION.search(f"{name} {exc}"):
            return True
        exc = exc.__cause__ or (None if exc.__suppress_context__ else exc.__context__)
    return False


def llm_unavailable(exc: BaseException, spec: str | None, base_url: str | None) -> ServiceUnavailable | None:
    """The ServiceUnavailable for a chat model call that could not reach its endpoint, else None."""
    if not is_connection_error(exc):
        return None
    provider = (spec or "").partition(":")[0] or "LLM"
    return ServiceUnavailable(f"LLM endpoint ({provider})", base_url or "the provider's default address", type(exc).__name__)
