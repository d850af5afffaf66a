"""Modules that moved, still importable under the paths stored documents name.

A stored job output names its pydantic class by module (``@module``), and a job
waiting in a FireWorks LaunchPad names its function likewise. When code moves
(e.g. into a descriptor's folder), those documents must still decode to the same
class and those fireworks still run: :data:`MOVED` maps each old module to the
module(s) that now hold what it held, and :func:`install` puts a finder on
``sys.meta_path`` that serves the old name. Job *ids* do not depend on module
paths at all (:mod:`lpsflow.jobs.identity`); this is only about decoding.

Add an entry whenever a module that held a job function or a result document
moves or is split; never remove one.
"""

from __future__ import annotations

import importlib
import importlib.abc
import sys
import types
from importlib.machinery import ModuleSpec

#: Old module -> the module(s) now holding its job functions and documents.
MOVED: dict[str, tuple[str, ...]] = {
    "lpsflow.schemas": (
        "lpsflow.jobs.screening",
        "lpsflow.descriptors.reactions.schema",
        "lpsflow.descriptors.solubility.schema",
        "lpsflow.descriptors.binding.schema",
        "lpsflow.descriptors.mu_li.schema",
    ),
    "lpsflow.jobs.reactions": ("lpsflow.descriptors.reactions.jobs",),
    "lpsflow.jobs.solubility": ("lpsflow.descriptors.solubility.jobs",),
    "lpsflow.jobs.interfaces": ("lpsflow.descriptors.binding.jobs",),
    "lpsflow.jobs.vacancies": ("lpsflow.descriptors.mu_li.jobs",),
    "lpsflow.jobs.grain_boundaries": ("lpsflow.descriptors.grain_boundaries.jobs",),
    "lpsflow.jobs.neb": ("lpsflow.descriptors.migration.neb",),
    "lpsflow.jobs.neb_hops": ("lpsflow.descriptors.migration.jobs",),
    "lpsflow.jobs.neb_vasp": ("lpsflow.descriptors.migration.vasp",),
}


class _MovedFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Serves an old module name as the union of the modules it moved to."""

    def find_spec(self, name: str, path: object = None, target: object = None):
        if name not in MOVED:
            return None
        return ModuleSpec(name, self)

    def create_module(self, spec: ModuleSpec) -> types.ModuleType:
        module = types.ModuleType(spec.name, f"Moved to {', '.join(MOVED[spec.name])}")
        for new in MOVED[spec.name]:
            held = importlib.import_module(new)
            public = getattr(held, "__all__", None) or [
                k for k in vars(held) if not k.startswith("_")
            ]
            for key in public:
                setattr(module, key, getattr(held, key))
        return module

    def exec_module(self, module: types.ModuleType) -> None:
        """Nothing to run: :meth:`create_module` filled the module."""


_FINDER = _MovedFinder()


def install() -> None:
    """Put the finder on ``sys.meta_path`` (once)."""
    if _FINDER not in sys.meta_path:
        sys.meta_path.append(_FINDER)
