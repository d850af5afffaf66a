"""Content-addressed job identities: the basis of resume and of sharing work.

A job's uuid is derived from what it computes, never from where its code lives:

* its **kind**: a stable name and a version number declared with the code
  (:func:`kind` on a job function, ``lpsflow_kind`` on a maker class,
  :data:`FOREIGN_KINDS` for atomate2's). Bump the version when the meaning of the
  kind's inputs or outputs changes; moving or renaming the function does not;
* its **inputs** by parameter name, with the values equal to the parameter's
  default left out (a new parameter with a default keeps every stored id; changing
  an existing default needs a version bump, which ``tests/test_identity.py`` asks
  for), and the maker's settings (all of them but the display ``name``);
  structures and other objects by content, without their Python module; upstream
  jobs by their uuids;
* a **salt** for what the inputs do not show (the MLIP package version).

A job family whose inputs belong together takes them as one typed :class:`Spec`
(an interface's geometry, a GB's geometry, a hop request), read by name in the job.
A spec enters the id as its fields, each as if it were a parameter of its own
(left out when equal to the field's default), so grouping inputs into a spec, or
adding a field with a default, keeps every id.

The same calculation therefore has the same uuid in every run, campaign, release
and machine, so a finished one is found in the store and never repeated. Floats
enter canonically (:func:`canonical`): to :data:`KEY_DIGITS` significant digits,
and a structure as its lattice matrix and fractional coordinates only (lengths,
angles, volume and Cartesian coordinates are derived from them). Machines differ
in the last bits of derived floats (numpy's SIMD kernels, BLAS): identity version
2 hashed them as they came, so the same campaign had other ids on another CPU.

Stores written under earlier identities keep their results:
:func:`content_key` with ``version=2`` gives identity version 2's keys, and
:func:`legacy_key` those of lpsflow 0.1.0 (keyed by module paths, frozen in
:data:`LEGACY_PATHS`); :mod:`lpsflow.dispatch.adopt` copies such results to
today's ids before a run, so nothing is recomputed.
"""

from __future__ import annotations

import inspect
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from monty.json import jsanitize
from pydantic import BaseModel, ConfigDict

from lpsflow.errors import LpsflowError

if TYPE_CHECKING:
    from jobflow import Job

#: Bump to invalidate every stored identity (e.g. after a change in job semantics);
#: :mod:`lpsflow.dispatch.adopt` then needs the old keys to adopt their results.
IDENTITY_VERSION = 3
#: Significant digits a float keeps in a content key (version 3 on): machines
#: differ near the 16th.
KEY_DIGITS = 9
#: Floats smaller than this in magnitude enter a content key as 0.
KEY_ZERO = 1e-10
#: Keys of a serialised lattice derived from its matrix.
_DERIVED_LATTICE = ("a", "b", "c", "alpha", "beta", "gamma", "volume")
_NAMESPACE = uuid.UUID("6c0d9a4e-4f57-4a43-9d5e-2f1d5b0c7a11")
#: Keys of serialised objects that name code, not content.
_CODE_KEYS = ("@module", "@version")

F = TypeVar("F", bound=Callable)


@dataclass(frozen=True)
class Kind:
    """A job kind: a stable name and the version of what its inputs mean."""

    name: str
    version: int = 1


def kind(name: str, version: int = 1) -> Callable[[F], F]:
    """Declare a job function's kind (below ``@job``: it marks the function)."""

    def mark(function: F) -> F:
        function.lpsflow_kind = Kind(name, version)  # type: ignore[attr-defined]
        return function

    return mark


#: Kinds of the atomate2 makers and jobs lpsflow runs (their code is not ours to
#: mark), by class or function path.
FOREIGN_KINDS: dict[str, Kind] = {
    "atomate2.vasp.jobs.core.RelaxMaker": Kind("vasp_relax"),
    "atomate2.vasp.jobs.core.StaticMaker": Kind("vasp_static"),
    "atomate2.vasp.jobs.neb.NebFromImagesMaker": Kind("vasp_neb"),
    "atomate2.vasp.jobs.neb.collect_neb_output": Kind("vasp_neb_collect"),
}


class Spec(BaseModel):
    """Typed inputs of a job family, passed as one argument and read by name.

    Subclasses declare documented fields; a job's identity reads a spec as its
    fields (see the module doc), and lpsflow 0.1.0's ids as the separate arguments
    0.1.0 passed: the fields in order where the spec is positional, by name where
    it is a keyword.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    def fields(self) -> dict[str, Any]:
        """The field values by name, in declaration order."""
        return {name: getattr(self, name) for name in type(self).model_fields}


def _spec_fields(spec: Spec) -> dict[str, Any]:
    """A spec's fields without those equal to the field's default."""
    out = {}
    for name, info in type(spec).model_fields.items():
        value = getattr(spec, name)
        if info.is_required() or _plain(value) != _plain(info.default):
            out[name] = value
    return out


def spec_types(function: Callable) -> dict[str, type[Spec]]:
    """Parameters of ``function`` typed as a :class:`Spec` (or an optional one).

    Annotations that do not resolve at run time (names imported for type checking
    only) are not specs.
    """
    import typing

    out = {}
    for name, param in inspect.signature(function).parameters.items():
        hint = param.annotation
        if isinstance(hint, str):
            try:
                hint = eval(hint, function.__globals__)
            except NameError:
                continue
        for candidate in (hint, *typing.get_args(hint)):
            if isinstance(candidate, type) and issubclass(candidate, Spec):
                out[name] = candidate
    return out


def _path(obj: Any) -> str:
    return f"{obj.__module__}.{obj.__qualname__}"


def kind_of(job: Job) -> Kind:
    """The declared kind of a job (a :class:`LpsflowError` if it has none)."""
    function = job.function
    maker = getattr(function, "__self__", None)
    owner = type(maker) if maker is not None else function
    # declared on the class or function itself: a subclass is another kind
    found = vars(owner).get("lpsflow_kind") or FOREIGN_KINDS.get(_path(owner))
    if found is None:
        raise LpsflowError(
            f"job '{job.name}' ({_path(owner)}) declares no identity kind: mark it "
            "with lpsflow.jobs.identity.kind (or list it in FOREIGN_KINDS)"
        )
    return found


def _without(obj: Any, keys: tuple[str, ...] = _CODE_KEYS) -> Any:
    """Drop ``keys`` (default: those naming modules and versions), recursively."""
    if isinstance(obj, dict):
        return {k: _without(v, keys) for k, v in obj.items() if k not in keys}
    if isinstance(obj, list):
        return [_without(v, keys) for v in obj]
    return obj


def _plain(obj: Any) -> Any:
    return jsanitize(obj, strict=True, enum_values=True)


def _bound(function: Callable, args: tuple, kwargs: dict) -> inspect.BoundArguments:
    return inspect.signature(function).bind(*args, **kwargs)


def _inputs(function: Callable, args: tuple, kwargs: dict) -> dict[str, Any]:
    """Arguments by parameter name, those equal to their default left out.

    A :class:`Spec` enters as its fields (an omitted optional spec: its defaults).
    """
    bound = _bound(function, args, kwargs)
    params = bound.signature.parameters
    specs = spec_types(function)
    out: dict[str, Any] = {}
    for name, value in bound.arguments.items():
        param = params[name]
        if name in specs:
            fields = _spec_fields(value if value is not None else specs[name]())
            if set(fields) & set(params):
                raise LpsflowError(f"{name}: spec fields clash with parameters")
            out.update(fields)
        elif param.kind is inspect.Parameter.VAR_KEYWORD:
            out.update(value)
        elif param.default is inspect.Parameter.empty or _plain(value) != _plain(
            param.default
        ):
            out[name] = value
    return out


def declared_defaults() -> dict[str, dict[str, Any]]:
    """``name@version`` of every lpsflow job kind -> its parameters' defaults.

    A default that changes changes what a job computes without changing its id
    (defaults are left out of it): the kind's version must change with it.
    """
    import importlib
    import pkgutil

    import lpsflow.descriptors
    import lpsflow.jobs

    names = [
        info.name
        for package in (lpsflow.jobs, lpsflow.descriptors)
        for info in pkgutil.walk_packages(package.__path__, f"{package.__name__}.")
    ]
    out: dict[str, dict[str, Any]] = {}
    for name in names:
        module = importlib.import_module(name)
        for obj in vars(module).values():
            function = getattr(obj, "original", obj)  # under jobflow's @job
            found = vars(function).get("lpsflow_kind") if callable(function) else None
            if isinstance(found, Kind) and function.__module__ == module.__name__:
                params = inspect.signature(function).parameters.values()
                specs = spec_types(function)
                defaults: dict[str, Any] = {}
                for p in params:
                    if p.name in specs:  # a spec's fields count as parameters
                        for name, info in specs[p.name].model_fields.items():
                            if not info.is_required():
                                defaults[name] = _plain(info.default)
                    elif p.default is not inspect.Parameter.empty:
                        defaults[p.name] = _plain(p.default)
                out[f"{found.name}@{found.version}"] = dict(sorted(defaults.items()))
    return dict(sorted(out.items()))


def arguments(job: Job) -> dict[str, Any]:
    """A job's arguments by parameter name, defaults filled in (read by name)."""
    bound = _bound(job.function, job.function_args, job.function_kwargs)
    bound.apply_defaults()
    out = dict(bound.arguments)
    for name, param in bound.signature.parameters.items():
        if param.kind is inspect.Parameter.VAR_KEYWORD:
            out.update(out.pop(name))
    return out


def _maker_settings(maker: Any) -> dict[str, Any]:
    """A maker's settings without its display name.

    All of them, defaults included: a changed atomate2 default changes the id;
    except the fields lpsflow added to a maker (its ``lpsflow_unset``: field ->
    value), left out while they hold that value, so adding one keeps every id.
    """
    settings = maker.as_dict()
    unset = getattr(type(maker), "lpsflow_unset", {})
    return {
        k: v
        for k, v in settings.items()
        if not k.startswith("@") and k != "name" and not (k in unset and v == unset[k])
    }


def _rounded(x: float) -> float:
    return 0.0 if abs(x) < KEY_ZERO else float(f"{x:.{KEY_DIGITS}g}")


def canonical(obj: Any) -> Any:
    """A serialised payload with its floats rounded and derived geometry left out.

    Lattices keep their matrix and periodicity, periodic sites their fractional
    coordinates (not the Cartesian ones); every float keeps :data:`KEY_DIGITS`
    significant digits (0 below :data:`KEY_ZERO`).
    """
    if isinstance(obj, dict):
        drop: tuple[str, ...] = ()
        if "matrix" in obj and set(_DERIVED_LATTICE) <= obj.keys():
            drop = _DERIVED_LATTICE
        elif "abc" in obj and "xyz" in obj:
            drop = ("xyz",)
        return {k: canonical(v) for k, v in obj.items() if k not in drop}
    if isinstance(obj, list):
        return [canonical(v) for v in obj]
    if isinstance(obj, float):
        return _rounded(obj)
    return obj


def _renamed(obj: Any, ids: dict[str, str]) -> Any:
    """Every string that is a key of ``ids`` (a job uuid) replaced by its value."""
    if isinstance(obj, dict):
        return {k: _renamed(v, ids) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_renamed(v, ids) for v in obj]
    if isinstance(obj, str):
        return ids.get(obj, obj)
    return obj


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= 1e-9 * max(1.0, abs(a))


@dataclass(frozen=True)
class Snap:
    """A stored structure whose last bits a key takes (another machine's).

    Its floats are taken where they agree with ours within 1e-9 (relative).

    ``derive``: take its lattice only, keep our fractional coordinates and derive
    the Cartesian ones from both (a calculation stores its input after a round
    trip through Cartesian coordinates, so its sites are not the hashed ones).
    """

    structure: dict[str, Any]
    derive: bool = False


def _snap_floats(ours: Any, theirs: Any) -> Any:
    """``ours`` with the floats ``theirs`` has within 1e-9 taken from ``theirs``."""
    if isinstance(ours, dict) and isinstance(theirs, dict):
        return {
            k: _snap_floats(v, theirs[k]) if k in theirs else v for k, v in ours.items()
        }
    if isinstance(ours, list) and isinstance(theirs, list) and len(ours) == len(theirs):
        return [_snap_floats(a, b) for a, b in zip(ours, theirs, strict=True)]
    if isinstance(ours, float) and isinstance(theirs, float) and _close(ours, theirs):
        return theirs
    return ours


def _snap_structure(ours: dict[str, Any], snap: Snap) -> dict[str, Any]:
    if not snap.derive:
        return _snap_floats(ours, snap.structure)
    import numpy as np

    lattice = _snap_floats(ours["lattice"], snap.structure.get("lattice", {}))
    matrix = np.array(lattice["matrix"])
    sites = [
        {**site, "xyz": np.dot(np.array(site["abc"]), matrix).tolist()}
        if "abc" in site and "xyz" in site
        else site
        for site in ours.get("sites", [])
    ]
    return {**ours, "lattice": lattice, "sites": sites}


def snapped(obj: Any, snap: Snap | None) -> Any:
    """A serialised payload, its structures with ``snap``'s last bits (None: as is)."""
    if snap is None:
        return obj
    if isinstance(obj, dict):
        if obj.get("@class") in ("Structure", "IStructure"):
            return _snap_structure(obj, snap)
        return {k: snapped(v, snap) for k, v in obj.items()}
    if isinstance(obj, list):
        return [snapped(v, snap) for v in obj]
    return obj


def content_key(
    job: Job,
    salt: Any = None,
    version: int = IDENTITY_VERSION,
    ids: dict[str, str] | None = None,
    snap: Snap | None = None,
) -> str:
    """Canonical JSON text of everything that determines a job's result.

    ``version``: the identity version whose key to give (2: floats as they come);
    ``ids``: the uuids that version gave the jobs this one reads (today's uuid ->
    that one); ``snap``: a stored structure whose last bits to take (:class:`Snap`).
    """
    found = kind_of(job)
    function = job.function
    maker = getattr(function, "__self__", None)
    payload = {
        "v": version,
        "kind": found.name,
        "kind_version": found.version,
        "maker": _maker_settings(maker) if maker is not None else None,
        "inputs": _inputs(function, job.function_args, job.function_kwargs),
        "salt": salt,
    }
    clean = _without(snapped(_renamed(_plain(payload), ids or {}), snap))
    if version >= 3:
        clean = canonical(clean)
    return json.dumps(clean, sort_keys=True, separators=(",", ":"))


def uuid_of(key: str) -> str:
    """The job uuid of a content key."""
    return str(uuid.uuid5(_NAMESPACE, key))


#: Metadata key of the salt a job's id was made with (its resolved key needs it).
SALT_KEY = "lpsflow_salt"


def stamp(job: Job, role: str | None = None, salt: Any = None) -> Job:
    """Give ``job`` its content-derived uuid (call before anything references it)."""
    job.set_uuid(uuid_of(content_key(job, salt)))
    meta = {**(job.metadata or {})}
    if role is not None:
        meta["lpsflow_role"] = role
    if salt is not None:
        meta[SALT_KEY] = salt
    job.metadata = meta
    return job


# --- ids of lpsflow 0.1.0 --------------------------------------------------------

#: The package version lpsflow 0.1.0 salted its analysis jobs with.
LEGACY_VERSION = "0.1.0"

#: Where lpsflow 0.1.0 had each of its job functions (its ids hash these paths):
#: frozen, whatever moves later. atomate2's jobs keep their own paths (pinned).
LEGACY_PATHS: dict[str, str] = {
    "reaction_energy": "lpsflow.jobs.reactions.reaction_energy_job",
    "screen_arrangements": "lpsflow.jobs.screening.screen_arrangements",
    "solubility": "lpsflow.jobs.solubility.solubility_job",
    "screen_vacancies": "lpsflow.jobs.vacancies.screen_vacancies",
    "chemical_potential": "lpsflow.jobs.vacancies.chemical_potential_job",
    "screen_interface": "lpsflow.jobs.interfaces.screen_interface",
    "interface_starts": "lpsflow.jobs.interfaces.interface_starts",
    "interface_parts": "lpsflow.jobs.interfaces.interface_parts",
    "binding_energy": "lpsflow.jobs.interfaces.binding_energy_job",
    "screen_grain_boundary": "lpsflow.jobs.grain_boundaries.screen_grain_boundary",
    "gb_energy": "lpsflow.jobs.grain_boundaries.gb_energy_job",
    "neb_hops": "lpsflow.jobs.neb_hops.neb_hop_job",
    "neb_endpoints": "lpsflow.jobs.neb_vasp.neb_endpoints_job",
    "collect_vasp_neb": "lpsflow.jobs.neb_vasp.collect_vasp_neb",
    "interpolate": "lpsflow.jobs.neb.interpolate_job",
    "neb": "lpsflow.jobs.neb.neb_job",
}
#: The module of each lpsflow class (or callable) that 0.1.0 ids serialised, e.g.
#: in a maker's settings or a job's arguments: frozen likewise.
LEGACY_MODULES: dict[str, str] = {
    "MLIPRelaxMaker": "lpsflow.calculators.mlip",
    "MLIPStaticMaker": "lpsflow.calculators.mlip",
    "OnceFrechetCellFilter": "lpsflow.calculators.cell_filter",
    "Arrangement": "lpsflow.structures.doping",
    "StudyRelaxSetGenerator": "lpsflow.calculators.vasp",
    "StudyStaticSetGenerator": "lpsflow.calculators.vasp",
    "StudyNebSetGenerator": "lpsflow.calculators.vasp",
}


def _legacy_modules(obj: Any) -> Any:
    """A payload with lpsflow's classes under their 0.1.0 modules."""
    if isinstance(obj, dict):
        out = {k: _legacy_modules(v) for k, v in obj.items()}
        name = out.get("@class") or out.get("@callable")
        if "@module" in out and name in LEGACY_MODULES:
            out["@module"] = LEGACY_MODULES[name]
        return out
    if isinstance(obj, list):
        return [_legacy_modules(v) for v in obj]
    return obj


def _legacy_maker(maker: Any, name: str | None) -> dict[str, Any]:
    """A maker's settings as 0.1.0 serialised them.

    Under its ``name`` then, without the fields added since (its ``lpsflow_unset``)
    while they hold their unset value.
    """
    unset = getattr(type(maker), "lpsflow_unset", {})
    out = {
        k: v for k, v in maker.as_dict().items() if not (k in unset and v == unset[k])
    }
    return out | ({"name": name} if name is not None else {})


def legacy_key(
    job: Job,
    salt: Any,
    legacy: dict[str, str],
    snap: Snap | None = None,
    maker_name: str | None = None,
) -> str:
    """The content key lpsflow 0.1.0 gave ``job``.

    ``legacy``: uuid -> 0.1.0 uuid of the jobs it references; ``salt``: as 0.1.0
    salted it; ``snap``: a stored structure whose last bits to take;
    ``maker_name``: the maker's name when the job was made (0.1.0 hashed it).
    """
    found = kind_of(job)
    function = job.function
    maker = getattr(function, "__self__", None)
    args = [
        v
        for a in job.function_args
        for v in (a.fields().values() if isinstance(a, Spec) else [a])
    ]
    kwargs: dict[str, Any] = {}
    for name, value in job.function_kwargs.items():
        kwargs.update(value.fields() if isinstance(value, Spec) else {name: value})
    payload = {
        "v": 1,
        "function": LEGACY_PATHS.get(found.name, _path(function)),
        "maker": _legacy_maker(maker, maker_name) if maker is not None else None,
        "args": args,
        "kwargs": kwargs,
        "salt": salt,
    }
    plain = snapped(_renamed(_plain(payload), legacy), snap)
    clean = _without(_legacy_modules(plain), ("@version",))
    return json.dumps(clean, sort_keys=True, separators=(",", ":"))
