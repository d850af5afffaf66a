"""Structures built from their stored JSON in one call are pymatgen's own."""

from __future__ import annotations

import json

import pytest
from monty.json import MontyEncoder
from pydantic import BaseModel, ConfigDict
from pymatgen.core import Lattice, Structure
from pymatgen.entries.computed_entries import ComputedStructureEntry

from lpsflow.dispatch.stored_json import structure_from_dict, with_structures


def _structure() -> Structure:
    s = Structure(
        Lattice.from_parameters(5.1, 6.2, 7.3, 80, 95, 101),
        ["Li", "Li", "P", "S"],
        [[0, 0, 0], [0.5, 0.25, 0.1], [0.3, 0.6, 0.9], [0.81, 0.1, 0.55]],
        site_properties={
            "selective_dynamics": [[True, True, False]] * 4,
            "magmom": [0.1, -0.2, 0.0, 1e-9],
            "layer": [0, 1, 1, 2],
            "grain": ["a", "a", "b", "b"],
            "note": [None, None, None, None],
        },
        labels=["Li1", "Li2", "P", "S"],
        properties={"gb": {"kind": "hetero", "shift": [0.0, 0.5]}},
    )
    return s


def _stored(obj) -> dict:
    return json.loads(json.dumps(obj, cls=MontyEncoder))


def test_same_structure_as_from_dict():
    d = _stored(_structure())
    fast = structure_from_dict(d)
    slow = Structure.from_dict(_stored(_structure()))
    assert fast is not None
    assert fast.as_dict() == slow.as_dict()
    assert [s.label for s in fast] == ["Li1", "Li2", "P", "S"]
    assert fast.site_properties == slow.site_properties
    assert fast.properties == slow.properties
    # each site's list is its own, as from pymatgen
    fast[0].properties["selective_dynamics"][0] = False
    assert fast[1].properties["selective_dynamics"][0] is True


def test_left_to_pymatgen_where_a_round_trip_matters():
    base = _stored(_structure())

    def changed(edit) -> dict:
        d = json.loads(json.dumps(base))
        edit(d)
        return d

    cases = [
        lambda d: d["sites"][0]["species"].append({"element": "Na", "occu": 0.5}),
        lambda d: d["sites"][0]["species"][0].update(occu=0.5),
        lambda d: d["sites"][1]["species"][0].update(oxidation_state=1),
        lambda d: d["sites"][2]["properties"].pop("magmom"),  # not on every site
        lambda d: d["sites"][3]["properties"].update(  # a serialised object
            magmom={"@module": "pymatgen.core.lattice", "@class": "Lattice"}
        ),
    ]
    for edit in cases:
        assert structure_from_dict(changed(edit)) is None


class Doc(BaseModel):
    """A pydantic document holding a Structure."""

    model_config = ConfigDict(arbitrary_types_allowed=True)
    structure: Structure


def test_structures_built_where_monty_would_build_them_alone():
    s = _structure()
    entry = ComputedStructureEntry(s, -1.0)
    stored = _stored([{"a": s, "b": [s]}, Doc(structure=s), entry])
    plain, doc, kept = with_structures(stored)
    assert isinstance(plain["a"], Structure) and isinstance(plain["b"][0], Structure)
    assert isinstance(doc["structure"], Structure) and doc["@class"] == "Doc"
    # an MSONable's own from_dict gets its dicts
    assert isinstance(kept["structure"], dict)
    assert ComputedStructureEntry.from_dict(kept).structure == s


@pytest.mark.parametrize("name", ["Li3PS4", "Al2S3"])
def test_bundled_structures(name):
    from lpsflow.structures.library import load_structure

    s = load_structure(name)
    s.add_site_property("magmom", [0.0] * len(s))
    d = _stored(s)
    assert structure_from_dict(d).as_dict() == Structure.from_dict(d).as_dict()
