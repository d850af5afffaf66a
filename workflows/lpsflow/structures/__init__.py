"""Structure building: bundled phases, doped core cells, slabs, interfaces, GBs."""
