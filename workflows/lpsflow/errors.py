"""Exceptions with messages meant for the user (the CLI prints them as one line)."""


class LpsflowError(Exception):
    """Base class for errors caused by user input or environment, not by bugs."""


class ConfigError(LpsflowError):
    """A campaign or calculator configuration is malformed or inconsistent."""


class StructureError(LpsflowError):
    """A structure file is missing, unreadable or physically broken."""


class CompositionError(LpsflowError):
    """A formula or composition is unknown, impossible or unsupported."""


class StoreError(LpsflowError):
    """The results store cannot be reached or is not usable."""
