"""Makers that assemble jobs into per-accelerant and per-campaign flows."""
