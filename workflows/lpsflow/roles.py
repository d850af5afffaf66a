"""Job roles: what each job of a campaign is, written and read in one place.

A campaign's manifest names every job by a role string such as
``relax:core:Al2S3:Li-site:1/8:0`` or ``binding:hetero:Al2S3``. :class:`Role` is its
typed form: the flows build roles with it, and everything that reads a manifest
(results, status, export, the inputs writer) parses them with :meth:`Role.parse`,
so the grammar lives here only.

Grammar (``:``-separated; brackets: optional)::

    <step>[:<branch>][:<kind>]:<label>[:<scheme>][:<x>][:n<n>][:<index>][:<part>...]

* ``step``: what the job does: ``relax``, ``screen``, ``static``, ``parts``,
  ``reaction``, NEB steps (``hops``, ``endpoint``, ``images``, ``band``,
  ``collect``) or a descriptor's result (``solubility``, ``binding``, ``mu_li``,
  ``gb``, ``neb``, ``surface``);
* ``branch``: the family of cells: ``core`` (doped cells), ``interface``,
  ``vacancy``, ``gb``, ``neb``, ``surface``, or none (a bulk phase). A result step
  implies its branch (``binding`` -> ``interface``), which is then not written;
* ``kind``: ``hetero``/``homo`` (interfaces), ``homo``/``core``/``hetero`` (GBs),
  ``gb``/``bulk`` (NEB path), ``core``/``gb`` (vacancy sites; none in Li7P3S11),
  the plane (``010``, ``10-1``) of a surface;
* ``label``: the accelerant formula or the phase;
* ``scheme``, ``x``: the doping scheme and a dopant content other than the
  campaign's (``1/8``), doped cells only; ``n``: film layers of an interface;
* ``index``: a candidate (doped arrangement, vacancy site) or a NEB hop;
* ``part``: what is left, e.g. ``film``, ``cut:substrate``, ``host``, ``initial``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from fractions import Fraction
from typing import Self

#: Result steps and the branch they imply.
RESULT_BRANCH = {
    "solubility": "core",
    "binding": "interface",
    "mu_li": "vacancy",
    "gb": "gb",
    "neb": "neb",
    "surface": "surface",
}
#: Families of cells a job step may work on.
BRANCHES = ("core", "interface", "vacancy", "gb", "neb", "surface")
#: Branches whose roles name a kind before the label (vacancy: optional).
_WITH_KIND = ("interface", "gb", "neb", "surface")
_LAYERS = re.compile(r"n(\d+)")


class RoleError(ValueError):
    """A role string that does not follow the grammar."""


@dataclass(frozen=True)
class Role:
    """One job's role in a campaign (see the module doc for the grammar)."""

    step: str
    """What the job does: relax, screen, reaction, binding, neb, ..."""
    label: str
    """Accelerant formula or phase."""
    branch: str = ""
    """Family of cells: core, interface, vacancy, gb, neb; empty for a bulk phase."""
    kind: str = ""
    """hetero/homo, homo/core/hetero, gb/bulk or core/gb, by branch."""
    scheme: str = ""
    """Doping scheme (doped cells)."""
    x: str = ""
    """Dopant content other than the campaign's, as a fraction label."""
    n: int | None = None
    """Film layers (interfaces)."""
    index: int | None = None
    """Candidate or hop number."""
    part: str = ""
    """The rest: film, cut:film, cut:substrate, host, starts, start1, initial, ..."""

    def format(self, index: str | None = None) -> str:
        """The role string; ``index`` replaces the index's text (e.g. ``#``)."""
        tokens = [self.step]
        if self.branch and RESULT_BRANCH.get(self.step) != self.branch:
            tokens.append(self.branch)
        tokens += [t for t in (self.kind, self.label, self.scheme, self.x) if t]
        if self.n is not None:
            tokens.append(f"n{self.n}")
        if self.index is not None:
            tokens.append(index if index is not None else str(self.index))
        if self.part:
            tokens.append(self.part)
        return ":".join(tokens)

    def __str__(self) -> str:
        return self.format()

    @property
    def tag(self) -> str:
        """The cells' name without step, index and part: ``core:Al2S3``."""
        return ":".join(t for t in (self.kind, self.label, self.scheme, self.x) if t)

    def but(self, **changes) -> Self:
        """A copy with some fields changed (``dataclasses.replace``)."""
        return replace(self, **changes)

    @classmethod
    def parse(cls, text: str) -> Self:
        """The role of a role string; :class:`RoleError` if it is none."""
        step, *rest = text.split(":")
        if not step or not rest or not all(rest):
            raise RoleError(f"not a job role: '{text}'")
        branch = RESULT_BRANCH.get(step, "")
        if not branch and rest[0] in BRANCHES and len(rest) > 1:
            branch = rest.pop(0)
        fields: dict = {"step": step, "branch": branch}
        try:
            if branch == "core":
                fields["label"], fields["scheme"], *tail = rest
                if step == "relax" and tail:
                    fields["index"] = int(tail.pop())
                if tail:
                    (fields["x"],) = tail
                tail = []
            elif branch in _WITH_KIND or (branch == "vacancy" and rest[0] in BRANCHES):
                fields["kind"], fields["label"], *tail = rest
            else:
                fields["label"], *tail = rest
        except ValueError as exc:
            raise RoleError(f"not a job role: '{text}'") from exc
        if tail and branch == "interface" and (m := _LAYERS.fullmatch(tail[0])):
            fields["n"] = int(m.group(1))
            tail.pop(0)
        if tail and tail[0].isdigit():
            fields["index"] = int(tail.pop(0))
        fields["part"] = ":".join(tail)
        role = cls(**fields)
        if role.format() != text:
            raise RoleError(f"not a job role: '{text}' (reads back as '{role}')")
        return role

    @classmethod
    def step_of(cls, text: str) -> str:
        """The step of a role, or of a job name where there is no role (``job``)."""
        return re.split(r"[: ]", text, maxsplit=1)[0] or "job"


def x_label(x: float) -> str:
    """A dopant content as roles and tables name it: 0.125 -> ``1/8``."""
    return str(Fraction(x).limit_denominator(1000))


def x_of(label: str) -> float:
    """The number of an x label: ``1/8`` -> 0.125."""
    return float(Fraction(label))


def roles_of(manifest: dict) -> dict[Role, str]:
    """Role -> job uuid of a campaign's manifest (unparsable roles left out)."""
    out = {}
    for job in manifest.get("jobs", []):
        try:
            out[Role.parse(job["role"])] = job["uuid"]
        except RoleError:
            continue
    return out


# --- the roles the flows build ---------------------------------------------------


def relax(phase: str) -> Role:
    """Relaxation of a bulk phase."""
    return Role("relax", phase)


def reaction(product: str) -> Role:
    """Reaction energy of a shared product (Li7P3S11, ...)."""
    return Role("reaction", product)


def core_reaction(accelerant: str, scheme: str) -> Role:
    """Reaction energy of an accelerant's doped core."""
    return Role("reaction", accelerant, branch="core", scheme=scheme)


def solubility(accelerant: str, scheme: str) -> Role:
    """The solubility series of one doping scheme."""
    return Role("solubility", accelerant, branch="core", scheme=scheme)


def binding(kind: str, label: str) -> Role:
    """E_bind(n) series of an interface (kind hetero on ``label``'s core, or homo)."""
    return Role("binding", label, branch="interface", kind=kind)


def mu_li(kind: str, label: str) -> Role:
    """mu_Li of a phase: kind core / gb (an accelerant's), or '' (``label`` itself)."""
    return Role("mu_li", label, branch="vacancy", kind=kind)


def gb_energy(kind: str, label: str) -> Role:
    """Energy of a grain boundary (homo, core or hetero)."""
    return Role("gb", label, branch="gb", kind=kind)


def neb(path: str, label: str) -> Role:
    """The NEB hops of ``path`` (gb or bulk) for ``label``."""
    return Role("neb", label, branch="neb", kind=path)


def miller_label(miller: tuple[int, int, int] | list[int]) -> str:
    """A plane as a role token: ``(1, 0, -1)`` -> ``10-1``, (1, 1, 10) -> ``1_1_10``.

    Indices of two digits are joined by ``_`` so no two planes share a token.
    """
    parts = [str(int(i)) for i in miller]
    return ("_" if any(abs(int(i)) > 9 for i in miller) else "").join(parts)


def surface(miller: tuple[int, int, int] | list[int], phase: str) -> Role:
    """Surface energy of one plane of a bulk phase."""
    return Role("surface", phase, branch="surface", kind=miller_label(miller))
