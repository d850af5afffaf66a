"""A VASP executable test double: CHGNet numbers written as VASP output files.

Run in a directory holding INCAR, POSCAR, KPOINTS and POTCAR or POTCAR.spec, it
computes energies, forces and stresses with CHGNet, relaxes the structure when
``NSW > 0`` and ``IBRION`` is 1, 2 (ASE BFGS) or 3 (FIRE) -- with
``FrechetCellFilter`` when ``ISIF >= 3``, force tolerance ``-EDIFFG`` (0.05 eV/A
when ``EDIFFG >= 0``), at most ``NSW`` ionic steps -- and writes the vasprun.xml,
OUTCAR, OSZICAR and CONTCAR that pymatgen, custodian and atomate2 parse. Stresses are
in kBar with VASP's sign (positive = compressive). Electronic steps, eigenvalues (a
3 eV gap) and the DOS are synthetic.

With ``IMAGES`` in the INCAR it runs a climbing-image NEB instead (see :func:`neb`).

``FAKE_VASP_FAIL_FIRST=ZBRENT`` (or another key of ``FAILURES``, or any message)
makes the first run in a directory stop after two ionic steps, print the VASP error
message and exit with status 1, as a run that custodian must correct.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from datetime import datetime
from pathlib import Path

import numpy as np
from pymatgen.core import Element, Structure
from pymatgen.io.vasp import Incar, Kpoints, Poscar

EV_A3_TO_KBAR = 1602.1766208
FAILURES = {
    "ZBRENT": " ZBRENT: fatal error in bracketing\n"
    "     please rerun with smaller EDIFF, or copy CONTCAR\n"
    "     to POSCAR and continue",
    "BRMIX": " BRMIX: very serious problems\n"
    " the old and the new charge density differ",
}
FAIL_MARKER = ".fake_vasp_failed"
#: Valence electrons of common POTCARs (others: outermost s and p shell).
ZVAL = {"Li_sv": 3, "Li": 1, "P": 5, "S": 6, "Cl": 7, "Al": 3, "Si": 4, "Ga_d": 13,
        "Ge_d": 14, "In_d": 13, "Sn_d": 14, "B": 3, "O": 6, "Zn": 12}  # fmt: skip
#: Parameters VASP reports in vasprun.xml that the INCAR does not set. AEXX and
#: HFSCREEN must be there, or emmet reads the run type as Hartree-Fock.
DEFAULT_PARAMETERS = {"SYSTEM": "fake_vasp", "PREC": "normal", "ENCUT": 400.0,
    "NELM": 60, "NELMIN": 2, "EDIFF": 1e-4, "EDIFFG": 1e-3, "NSW": 0, "IBRION": -1,
    "ISIF": 2, "ISPIN": 1, "ISMEAR": 1, "SIGMA": 0.2, "LREAL": False, "GGA": "--",
    "LHFCALC": False, "AEXX": 0.0, "AGGAX": 1.0, "AGGAC": 1.0, "ALDAC": 1.0,
    "HFSCREEN": 0.0, "LUSE_VDW": False, "LDAU": False, "LORBIT": 0, "ALGO": "Normal",
}  # fmt: skip


def potcar_symbols(species: list[str]) -> list[str]:
    """POTCAR symbols from POTCAR.spec, POTCAR titles, or the element names."""
    if Path("POTCAR.spec").exists():
        return Path("POTCAR.spec").read_text().split()
    if Path("POTCAR").exists():
        lines = Path("POTCAR").read_text().splitlines()
        titles = [ln.split("=")[1].split()[1] for ln in lines if "TITEL" in ln]
        if titles:
            return titles
    return list(species)


def zval(symbol: str) -> int:
    """Valence electrons of a POTCAR."""
    if symbol in ZVAL:
        return ZVAL[symbol]
    shells = Element(symbol.split("_")[0]).full_electronic_structure
    n_max = max(n for n, _, _ in shells)
    return sum(e for n, orb, e in shells if n == n_max and orb in "sp")


def evaluate(structure: Structure, incar: Incar, max_steps: int) -> list[dict]:
    """CHGNet single point or relaxation; one record per ionic step."""
    from ase.filters import FrechetCellFilter
    from ase.optimize import BFGS, FIRE
    from pymatgen.io.ase import AseAtomsAdaptor

    with contextlib.redirect_stdout(sys.stderr):  # keep stdout (vasp.out) VASP-like
        from chgnet.model import CHGNet
        from chgnet.model.dynamics import CHGNetCalculator

        calc = CHGNetCalculator(CHGNet.load(verbose=False), use_device="cpu")
    atoms = AseAtomsAdaptor.get_atoms(structure)
    atoms.calc = calc
    records: list[dict] = []

    def record() -> None:
        records.append(
            {
                "structure": AseAtomsAdaptor.get_structure(atoms),
                "energy": float(atoms.get_potential_energy()),
                "forces": atoms.get_forces().copy(),
                "stress": -atoms.get_stress(voigt=False) * EV_A3_TO_KBAR,
            }
        )

    nsw, ibrion = int(incar.get("NSW", 0)), int(incar.get("IBRION", -1))
    if nsw <= 0 or ibrion not in (1, 2, 3):
        record()
        return records
    ediffg = float(incar.get("EDIFFG", 10 * float(incar.get("EDIFF", 1e-4))))
    target = FrechetCellFilter(atoms) if int(incar.get("ISIF", 2)) >= 3 else atoms
    optimizer = (FIRE if ibrion == 3 else BFGS)(target, logfile=None)
    optimizer.attach(record)  # also called for the starting point
    with contextlib.redirect_stdout(sys.stderr):
        optimizer.run(
            fmax=-ediffg if ediffg < 0 else 0.05, steps=min(nsw, max_steps) - 1
        )
    return records


def bands_and_fermi(
    nelect: float, nbands: int, kpts: np.ndarray
) -> tuple[np.ndarray, float]:
    """Synthetic bands (k-points x bands): VBM at 0 eV, CBM at 3 eV."""
    nocc = int(np.ceil(nelect / 2))
    levels = np.concatenate(
        [np.linspace(-12, -0.9, nocc), np.linspace(3.9, 10, max(nbands - nocc, 1))]
    )[:nbands]
    bands = levels[None, :] + 0.3 * np.cos(2 * np.pi * kpts).sum(axis=1)[:, None]
    return bands, float(bands[:, :nocc].max()) + 0.1


def _i(name: str, value: object) -> str:
    if isinstance(value, bool):
        return f'<i type="logical" name="{name}">{"T" if value else "F"}</i>'
    if isinstance(value, int):
        return f'<i type="int" name="{name}">{value}</i>'
    if isinstance(value, float):
        return f'<i name="{name}">{value:16.8f}</i>'
    if isinstance(value, list):
        kind = ' type="int"' if all(isinstance(v, int) for v in value) else ""
        return f'<v{kind} name="{name}">{" ".join(map(str, value))}</v>'
    return f'<i type="string" name="{name}">{value}</i>'


def _varray(name: str, rows: np.ndarray) -> str:
    body = "".join(f"<v>{' '.join(f'{x:16.8f}' for x in r)}</v>\n" for r in rows)
    return f'<varray name="{name}">\n{body}</varray>\n'


def _rows(comment: str, rows: np.ndarray) -> str:
    body = "".join(f"<r>{' '.join(f'{x:12.6f}' for x in r)}</r>" for r in rows)
    return f'<set comment="{comment}">{body}</set>\n'


def _structure(s: Structure, name: str | None = None) -> str:
    attr = f' name="{name}"' if name else ""
    rec = s.lattice.reciprocal_lattice_crystallographic.matrix
    return (
        f"<structure{attr}>\n<crystal>\n{_varray('basis', s.lattice.matrix)}"
        f'<i name="volume">{s.volume:16.8f}</i>\n{_varray("rec_basis", rec)}'
        f"</crystal>\n{_varray('positions', s.frac_coords)}</structure>\n"
    )


def _energy(e: float) -> str:
    return "".join(_i(k, e) for k in ("e_fr_energy", "e_wo_entrp", "e_0_energy"))


def sc_energies(energy: float, n: int) -> list[float]:
    """Electronic steps converging on ``energy``."""
    return [energy + 10.0 ** (2 - 1.5 * i) for i in range(1, n)] + [energy]


def vasprun_xml(
    records: list[dict], incar: Incar, params: dict, kpoints: Kpoints | None, **e
) -> str:
    """vasprun.xml: header, one <calculation> per ionic step, bands and DOS last."""
    final, species, symbols = records[-1]["structure"], e["species"], e["symbols"]
    now = datetime.now()
    x = ['<?xml version="1.0" encoding="ISO-8859-1"?>\n<modeling>\n<generator>']
    x += [_i("program", "vasp"), _i("version", "6.4.2"), _i("subversion", "fake"),
          _i("platform", "LinuxGNU"), _i("date", now.strftime("%Y %m %d")),
          _i("time", now.strftime("%H:%M:%S")), "</generator>\n<incar>"]  # fmt: skip
    x += [_i(k, v) for k, v in incar.items()] + ["</incar>\n<kpoints>"]
    if kpoints is not None and kpoints.style.name != "Reciprocal":
        style = "Gamma" if kpoints.style.name == "Gamma" else "Monkhorst-Pack"
        x += [f'<generation param="{style}">', _i("divisions", list(e["mesh"]))]
        x += ['<v name="usershift">0 0 0</v>', "</generation>"]
    kpts = e["kpts"]
    x += [_varray("kpointlist", kpts), _varray("weights", np.full((len(kpts), 1),
          1 / len(kpts))), "</kpoints>\n<parameters>"]  # fmt: skip
    x += [_i(k, v) for k, v in params.items()] + ["</parameters>\n<atominfo>"]
    x += [f"<atoms>{len(final)}</atoms><types>{len(species)}</types>"]
    x += ['<array name="atoms"><set>']
    x += [f"<rc><c>{s.specie}</c><c>{species.index(str(s.specie)) + 1}</c></rc>"
          for s in final]  # fmt: skip
    x += ['</set></array>\n<array name="atomtypes"><set>']
    for n, el, p in zip(e["counts"], species, symbols, strict=True):
        mass = float(Element(el).atomic_mass)
        x += [f"<rc><c>{n}</c><c>{el}</c><c>{mass:.4f}</c><c>{zval(p):.1f}</c>"
              f"<c>PAW_PBE {p} 01Jan2000</c></rc>"]  # fmt: skip
    x += ["</set></array>\n</atominfo>"]
    x += [_structure(records[0]["structure"], "initialpos")]
    for rec in records:
        x.append("<calculation>")
        for en in sc_energies(rec["energy"], e["n_sc"]):
            x.append(
                f'<scstep><time name="dav">0.01 0.01</time><energy>{_energy(en)}'
                "</energy></scstep>"
            )
        x += [_structure(rec["structure"]), _varray("forces", rec["forces"])]
        x += [_varray("stress", rec["stress"]), f"<energy>{_energy(rec['energy'])}"]
        x += ['</energy>\n<time name="totalsc">0.1 0.1</time>']
        if rec is records[-1]:
            bands, efermi, ispin = e["bands"], e["efermi"], e["ispin"]
            x.append("<eigenvalues><array><set>")
            for spin in range(1, ispin + 1):
                x.append(f'<set comment="spin {spin}">')
                for k, row in enumerate(bands, start=1):
                    occ = (row < efermi).astype(float)
                    x.append(_rows(f"kpoint {k}", np.column_stack([row, occ])))
                x.append("</set>")
            x.append("</set></array></eigenvalues>")
            grid = np.linspace(bands.min() - 2, bands.max() + 2, 301)
            dos = np.exp(-(((grid[:, None] - bands.ravel()) / 0.2) ** 2)).sum(1)
            dos *= 2 * bands.shape[1] / ispin / np.trapezoid(dos, grid)
            idos = np.concatenate([[0], np.cumsum(dos[1:] * np.diff(grid))])
            x.append(f'<dos><i name="efermi">{efermi:12.8f}</i><total><array><set>')
            table = np.column_stack([grid, dos, idos])
            x += [_rows(f"spin {s}", table) for s in range(1, ispin + 1)]
            x.append("</set></array></total></dos>")
        x.append("</calculation>")
    x += [_structure(final, "finalpos"), "</modeling>\n"]
    return "\n".join(x)


def outcar_text(records: list[dict], params: dict, **e) -> str:
    """OUTCAR lines that pymatgen's Outcar and custodian's handlers read."""
    out = [" vasp.6.4.2 (fake_vasp: CHGNet)", " running on    1 total cores"]
    out += [f"   k-points           NKPTS = {len(e['kpts']):6d}   number of bands"
            f"    NBANDS= {params['NBANDS']:6d}", f"   total plane-waves  NPLWV ="
            f" {20**3:6d}", f"   IBRION = {params['IBRION']:6d}", f"   ISIF   = "
            f"{params['ISIF']:6d}", f"   ISPIN  = {params['ISPIN']:6d}",
            f"   NELECT = {params['NELECT']:12.4f}"]  # fmt: skip
    for step, rec in enumerate(records, start=1):
        en, s, forces = rec["energy"], rec["stress"], rec["forces"]
        dash = "-" * 39
        out += [f"{dash} Iteration {step:6d}({n:4d})  {dash}" for n in range(1, 5)]
        voigt = (s[0, 0], s[1, 1], s[2, 2], s[0, 1], s[1, 2], s[0, 2])
        out += [f"  in kB {' '.join(f'{v:11.5f}' for v in voigt)}"]
        out += [
            f"  external pressure = {np.trace(s) / 3:11.2f} kB  Pullay stress ="
            "        0.00 kB",
            f" POSITION{' ' * 40}TOTAL-FORCE (eV/Angst)",
        ]
        out += [" ".join(f"{v:12.5f}" for v in (*site.coords, *f))
                for site, f in zip(rec["structure"], forces, strict=True)]  # fmt: skip
        drift = "  ".join(f"{v:12.6f}" for v in forces.sum(0))
        out += [
            f"    total drift:  {drift}",
            f"  free  energy   TOTEN  = {en:18.8f} eV",
        ]
        out += [f"  energy  without entropy= {en:18.8f}  energy(sigma->0) = {en:18.8f}"]
    out += [f" E-fermi : {e['efermi']:10.4f}     XC(G=0):  -8.0000     alpha+bet : -5"]
    out += [f" number of electron {params['NELECT']:15.7f} magnetization {0:15.7f}"]
    cpu = time.process_time()
    out += [" General timing and accounting informations for this job:"]
    out += [f"{k:>43} (sec): {cpu:12.3f}" for k in ("Total CPU time used", "User time")]
    out += [f"{'System time':>43} (sec): {0:12.3f}"]
    out += [f"{'Elapsed time':>43} (sec): {cpu:12.3f}"]
    out += [f"{'Maximum memory used':>43} (kb): {1e5:12.0f}"]
    return "\n".join(out) + "\n"


def oszicar_text(records: list[dict], n_sc: int, nbands: int) -> str:
    """OSZICAR: DAV lines per electronic step and an F= E0= line per ionic step."""
    header = "       N       E                     dE             d eps       ncg"
    lines = [f"{header}     rms"]
    for step, rec in enumerate(records, start=1):
        en = rec["energy"]
        for n, e_n in enumerate(sc_energies(en, n_sc), start=1):
            lines.append(
                f"DAV: {n:3d}    {e_n:.12E}   {e_n - en:.5E}   0.00000E+00"
                f"   {8 * nbands}   0.100E-01"
            )
        d_e = en - records[0]["energy"]
        lines.append(f"{step:4d} F= {en:.8E} E0= {en:.8E}  d E ={d_e:.6E}")
    return "\n".join(lines) + "\n"


def write_outputs(
    records: list[dict], incar: Incar, kpoints: Kpoints | None, symbols: list[str]
) -> None:
    """Write vasprun.xml, OUTCAR, OSZICAR and CONTCAR for the ionic steps."""
    final = records[-1]["structure"]
    poscar = Poscar(final)
    species, counts = [str(s) for s in poscar.site_symbols], poscar.natoms
    nelect = sum(c * zval(p) for c, p in zip(counts, symbols, strict=True))
    nelect = float(incar.get("NELECT", nelect))
    nbands = int(incar.get("NBANDS", int(nelect / 2) + max(len(final) // 2, 3)))
    params = {**DEFAULT_PARAMETERS}
    params.update({k: v for k, v in incar.items() if not isinstance(v, list | dict)})
    magmom = incar.get("MAGMOM", [1.0] * len(final))
    params.update(NELECT=nelect, NBANDS=nbands, ENMAX=float(params["ENCUT"]))
    params["MAGMOM"] = magmom
    n_sc = min(max(int(params["NELMIN"]), 4), int(params["NELM"]) - 1)
    explicit = kpoints is None or kpoints.style.name == "Reciprocal"
    mesh = (1, 1, 1) if explicit else tuple(int(n) for n in kpoints.kpts[0])
    axes = [np.arange(n) / n for n in mesh]
    kpts = np.array(np.meshgrid(*axes, indexing="ij")).reshape(3, -1).T
    bands, efermi = bands_and_fermi(nelect, nbands, kpts)
    extra = {"species": species, "symbols": symbols, "counts": counts, "mesh": mesh,
             "kpts": kpts, "bands": bands, "efermi": efermi, "n_sc": n_sc,
             "ispin": int(params["ISPIN"])}  # fmt: skip

    Path("vasprun.xml").write_text(
        vasprun_xml(records, incar, params, kpoints, **extra)
    )
    Path("OUTCAR").write_text(outcar_text(records, params, **extra))
    Path("OSZICAR").write_text(oszicar := oszicar_text(records, n_sc, nbands))
    poscar.write_file("CONTCAR")
    print(oszicar, end="")


def neb(incar: Incar, kpoints: Kpoints | None) -> int:
    """``IMAGES = n``: climbing-image NEB over ``00`` .. ``n+1`` (VTST layout).

    The endpoints (``00``, ``n+1``) stay fixed; the images are optimized with ASE's
    NEB (improved tangent, climbing image if ``LCLIMB``, FIRE) to ``-EDIFFG`` on
    the NEB forces within ``NSW`` steps. Each image directory gets vasprun.xml,
    OUTCAR, OSZICAR and CONTCAR with its energy and NEB force per ionic step;
    the endpoints get none, as with VASP.
    """
    from ase.calculators.singlepoint import SinglePointCalculator
    from ase.mep import NEB
    from ase.optimize import FIRE
    from pymatgen.io.ase import AseAtomsAdaptor

    n = int(incar["IMAGES"])
    dirs = [Path(f"{i:02d}") for i in range(n + 2)]
    structures = [
        Poscar.from_file(d / "POSCAR", check_for_potcar=False).structure for d in dirs
    ]
    symbols = potcar_symbols(Poscar(structures[0]).site_symbols)
    with contextlib.redirect_stdout(sys.stderr):
        from chgnet.model import CHGNet
        from chgnet.model.dynamics import CHGNetCalculator

        calc = CHGNetCalculator(CHGNet.load(verbose=False), use_device="cpu")
    atoms = [AseAtomsAdaptor.get_atoms(st) for st in structures]
    for end in (atoms[0], atoms[-1]):
        end.calc = calc
        energy, forces = end.get_potential_energy(), end.get_forces()
        end.calc = SinglePointCalculator(end, energy=energy, forces=forces)
    for image in atoms[1:-1]:
        image.calc = calc

    class Band(NEB):
        def get_forces(self):  # keep the NEB forces of the last evaluation
            self.last_forces = super().get_forces()
            return self.last_forces

    spring = abs(float(incar.get("SPRING", -5)))
    band = Band(
        atoms, k=spring, climb=bool(incar.get("LCLIMB", False)),
        method="improvedtangent", allow_shared_calculator=True,
    )  # fmt: skip
    records: list[list[dict]] = [[] for _ in range(n)]
    natoms = len(atoms[0])

    def record() -> None:
        forces = band.last_forces.reshape(n, natoms, 3)
        for k in range(n):
            records[k].append(
                {
                    "structure": AseAtomsAdaptor.get_structure(atoms[k + 1]),
                    "energy": float(band.energies[k + 1]),
                    "forces": forces[k].copy(),
                    "stress": np.zeros((3, 3)),
                }
            )

    nsw = int(incar.get("NSW", 1))
    ediffg = float(incar.get("EDIFFG", -0.05))
    optimizer = FIRE(band, logfile=None)
    optimizer.attach(record)
    with contextlib.redirect_stdout(sys.stderr):
        optimizer.run(fmax=-ediffg if ediffg < 0 else 0.05, steps=max(nsw - 1, 0))
    home = Path.cwd()
    for k in range(n):
        os.chdir(dirs[k + 1])
        try:
            write_outputs(records[k], incar, kpoints, symbols)
        finally:
            os.chdir(home)
    if len(records[0]) < nsw:
        print(" reached required accuracy - stopping structural energy minimisation")
    return 0


def main() -> int:
    """Run the double in the current directory."""
    incar = Incar.from_file("INCAR")
    if int(incar.get("IMAGES", 0)) > 0:
        kpoints = Kpoints.from_file("KPOINTS") if Path("KPOINTS").exists() else None
        print(" running on    1 total cores\n vasp.6.4.2 (fake_vasp: CHGNet)")
        return neb(incar, kpoints)
    structure = Poscar.from_file("POSCAR", check_for_potcar=False).structure
    kpoints = Kpoints.from_file("KPOINTS") if Path("KPOINTS").exists() else None
    symbols = potcar_symbols(Poscar(structure).site_symbols)
    fail = os.environ.get("FAKE_VASP_FAIL_FIRST", "")
    failing = bool(fail) and not Path(FAIL_MARKER).exists()
    print(" running on    1 total cores\n vasp.6.4.2 (fake_vasp: CHGNet)")
    records = evaluate(structure, incar, 2 if failing else 10**9)
    write_outputs(records, incar, kpoints, symbols)
    if failing:
        Path(FAIL_MARKER).write_text(fail)
        print(FAILURES.get(fail.upper(), fail), flush=True)
        return 1
    if 0 < len(records) < int(incar.get("NSW", 0)):
        print(" reached required accuracy - stopping structural energy minimisation")
    return 0


if __name__ == "__main__":
    sys.exit(main())
