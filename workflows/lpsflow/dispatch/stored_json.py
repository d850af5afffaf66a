"""Stored (JSON) documents: which parts are pydantic models, and fast Structures.

``Structure.from_dict`` builds each site on its own and sends every site property
through a JSON encode/decode round trip (``PeriodicSite.from_dict``): 2.7 s of the
3.6 s that decoding the quick campaign's 153 job inputs (783 structures, 68 000
sites) took in the workers. :func:`structure_from_dict` builds the same Structure
in one constructor call where that round trip cannot change anything: one element
per site at full occupancy, site properties that are plain JSON values, the same
property names on every site. Anything else goes to pymatgen.
"""

from __future__ import annotations

import importlib
from functools import cache
from typing import Any

from pydantic import BaseModel
from pymatgen.core import Element, Lattice, Structure

_STRUCTURE = ("pymatgen.core.structure", "Structure")


@cache
def _pydantic_class(module: str, name: str) -> bool:
    try:
        cls = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError):
        return False
    return isinstance(cls, type) and issubclass(cls, BaseModel)


def is_pydantic(doc: dict) -> bool:
    """Whether a serialised object is a pydantic model (monty's ``model_dump``)."""
    return _pydantic_class(str(doc.get("@module")), str(doc.get("@class")))


def is_object(value: Any) -> bool:
    """Whether a stored value is a serialised object other than a pydantic model."""
    return (
        isinstance(value, dict)
        and "@module" in value
        and "@class" in value
        and not is_pydantic(value)
    )


def _plain(value: Any) -> bool:
    """A JSON scalar, or lists of them (a JSON round trip gives it back unchanged)."""
    if isinstance(value, list):
        return all(_plain(v) for v in value)
    return value is None or isinstance(value, str | int | float | bool)


def structure_from_dict(d: dict) -> Structure | None:
    """``Structure.from_dict(d)`` in one constructor call; None where it cannot be."""
    sites = d.get("sites")
    if not sites or d.get("@class") != "Structure":
        return None
    keys = list(sites[0].get("properties") or {})
    species, frac, labels = [], [], []
    props: dict[str, list] = {k: [] for k in keys}
    for site in sites:
        sp = site.get("species")
        if (
            not isinstance(sp, list)
            or len(sp) != 1
            or set(sp[0]) != {"element", "occu"}
            or sp[0]["occu"] != 1
        ):
            return None
        site_props = site.get("properties") or {}
        if list(site_props) != keys:
            return None
        for k, v in site_props.items():
            if not _plain(v):
                return None
            props[k].append(v)
        species.append({Element(sp[0]["element"]): sp[0]["occu"]})
        frac.append(site["abc"])
        label = site.get("label")
        labels.append(sp[0]["element"] if label is None else label)
    return Structure(
        Lattice.from_dict(d["lattice"]),
        species,
        frac,
        charge=d.get("charge"),
        site_properties=props,
        labels=labels,
        properties=d.get("properties"),
    )


def with_structures(obj: Any) -> Any:
    """``obj`` with its Structure dicts built (see :func:`structure_from_dict`).

    Only where monty's decoder would build them on their own: in plain dicts and
    lists and in pydantic models' fields, not inside other serialised objects (whose
    ``from_dict`` expects dicts).
    """
    if isinstance(obj, list):
        return [with_structures(v) for v in obj]
    if not isinstance(obj, dict):
        return obj
    if (obj.get("@module"), obj.get("@class")) == _STRUCTURE:
        s = structure_from_dict(obj)
        return obj if s is None else s
    if is_object(obj):
        return obj
    return {k: with_structures(v) for k, v in obj.items()}
