"""Errors split by who can fix them."""


class AssistantError(Exception):
    """Root of every error the assistant raises on purpose."""


class InputError(AssistantError, ValueError):
    """The user can fix this: bad or missing input. The message says how."""


class DataError(AssistantError):
    """A data file (manifest, policy, price table) is wrong; a maintainer must fix it."""


class IndexBusyError(AssistantError):
    """Another process is writing the index."""
