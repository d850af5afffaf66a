"""Makers that assemble jobs into per-accelerant and per-campaign flows."""

from lpsflow.flows import schema_access

schema_access.apply()
