"""VASP backend: the input sets atomate2's makers write with the study's settings.

No VASP run and no POTCAR library: input sets are built with ``potcar_spec``, and the
POTCAR directory points at an empty folder so any POTCAR lookup would fail.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest
from atomate2.vasp.jobs.core import RelaxMaker, StaticMaker
from atomate2.vasp.sets.core import RelaxSetGenerator, StaticSetGenerator
from jobflow import Job
from monty.json import MontyDecoder, MontyEncoder
from pymatgen.core import SETTINGS as PMG_SETTINGS
from pymatgen.core import Structure
from pymatgen.io.vasp import Incar, Kpoints, Poscar

from lpsflow.calculators import get_backend
from lpsflow.calculators.base import DOPED_CORE, GRAIN_BOUNDARY, INTERFACE, NORMAL
from lpsflow.calculators.vasp import (
    STUDY_MESHES,
    VaspBackend,
    length_mesh,
    odd_electrons,
    write_vasp_inputs,
)
from lpsflow.campaign import CalculatorSettings
from lpsflow.structures.library import load_structure


@pytest.fixture(autouse=True)
def _offline_vasp(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No POTCAR library and no user atomate2 INCAR updates."""
    from atomate2 import SETTINGS

    empty = tmp_path / "no-potcars"
    empty.mkdir()
    monkeypatch.setitem(PMG_SETTINGS, "PMG_VASP_PSP_DIR", str(empty))
    monkeypatch.setattr(SETTINGS, "VASP_INCAR_UPDATES", {})


def backend(**vasp: object) -> VaspBackend:
    settings = CalculatorSettings(
        backend="vasp", fmax=0.01, max_steps=300, vasp={"potcar_spec": True, **vasp}
    )
    b = get_backend(settings)
    assert isinstance(b, VaspBackend)
    return b


def doped_core() -> Structure:
    """beta-Li3PS4 (4 f.u.) with one Al on a Li site and two Li vacancies."""
    s = load_structure("Li3PS4")
    li = [i for i, site in enumerate(s) if site.specie.symbol == "Li"]
    s.replace(li[0], "Al")
    s.remove_sites(li[1:3])
    return s


def gb_cell() -> Structure:
    """A stand-in for a grain-boundary cell: long along c."""
    return load_structure("Li3PS4").make_supercell([1, 1, 4], in_place=False)


#: One k-point density (25 A) for every cell: the study's 2x3x4 on beta-Li3PS4; on
#: the bundled Li7P3S11 (6.2 A axis b) its 4x2x2 with the short axis where it is.
CASES = {
    DOPED_CORE: (doped_core, (2, 3, 4)),
    "Li3PS4": (lambda: load_structure("Li3PS4"), (2, 3, 4)),
    "Li7P3S11": (lambda: load_structure("Li7P3S11"), (2, 4, 2)),
    GRAIN_BOUNDARY: (gb_cell, (2, 3, 1)),  # 13.2 x 8.1 x 24.9 A
    "Li2S": (lambda: load_structure("Li2S"), (6, 6, 6)),  # 25 A / 4.01 A
}


def input_set(maker, structure: Structure):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the Li7P3S11 mesh warning
        return maker.input_set_generator.get_input_set(structure, potcar_spec=True)


def assert_study_incar(incar: Incar) -> None:
    assert str(incar["GGA"]).upper() == "PE"
    assert incar["ENCUT"] == 520
    assert incar["PREC"].lower() == "accurate"
    assert incar["ISMEAR"] == 0
    assert incar["SIGMA"] == pytest.approx(0.05)
    assert incar["EDIFF"] == pytest.approx(1e-5)
    assert incar["ISPIN"] == 1
    assert incar["LREAL"] is False
    assert incar["LASPH"] is False
    assert incar.get("LDAU", False) is False
    for tag in ("MAGMOM", "METAGGA", "LMIXTAU", "LDAUU", "LDAUJ", "LDAUL", "KSPACING"):
        assert tag not in incar, tag
    assert not incar.get("LAECHG") and not incar.get("LVTOT")


@pytest.mark.parametrize("phase", list(CASES))
def test_relax_inputs(phase: str) -> None:
    make_structure, mesh = CASES[phase]
    structure = make_structure()
    maker = backend().relax_maker(phase)
    assert isinstance(maker, RelaxMaker)
    assert isinstance(maker.input_set_generator, RelaxSetGenerator)
    assert maker.name == f"relax {phase}"
    vis = input_set(maker, structure)

    incar = vis["INCAR"]
    assert_study_incar(incar)
    assert incar["ISIF"] == 3
    assert incar["IBRION"] == 2
    assert incar["NSW"] == 300
    assert incar["EDIFFG"] == pytest.approx(-0.01)

    kpoints = vis["KPOINTS"]
    assert kpoints.style == Kpoints.supported_modes.Gamma
    assert tuple(kpoints.kpts[0]) == mesh

    symbols = set(vis["POTCAR.spec"].split())
    assert {"Li_sv", "S"} <= symbols <= {"Li_sv", "Al", "P", "S"}


@pytest.mark.parametrize("phase", [DOPED_CORE, "Li7P3S11", GRAIN_BOUNDARY, "Li2S"])
def test_fixed_cell_and_static_inputs(phase: str) -> None:
    make_structure, mesh = CASES[phase]
    structure = make_structure()
    b = backend()

    fixed = input_set(b.relax_maker(phase, relax_cell=False), structure)
    assert_study_incar(fixed["INCAR"])
    assert fixed["INCAR"]["ISIF"] == 2
    assert fixed["INCAR"]["NSW"] == 300

    maker = b.static_maker(phase)
    assert isinstance(maker, StaticMaker)
    assert isinstance(maker.input_set_generator, StaticSetGenerator)
    assert maker.name == f"static {phase}"
    static = input_set(maker, structure)
    assert_study_incar(static["INCAR"])  # ISMEAR 0, not atomate2's static -5
    assert static["INCAR"]["NSW"] == 0
    assert tuple(static["KPOINTS"].kpts[0]) == mesh


def test_gb_relaxation_relaxes_only_the_normal_length() -> None:
    """relax_cell="normal": ISIF 3 with the x and y lattice rows held
    (LATTICE_CONSTRAINTS F F T); a fixed or fully free cell writes no constraint."""
    b, cell = backend(), gb_cell()
    incar = input_set(b.relax_maker(GRAIN_BOUNDARY, relax_cell=NORMAL), cell)["INCAR"]
    assert incar["ISIF"] == 3 and incar["IBRION"] == 2
    assert list(incar["LATTICE_CONSTRAINTS"]) == [False, False, True]
    written = Incar.from_str(incar.get_str())
    assert [str(v).upper()[0] for v in written["LATTICE_CONSTRAINTS"]] == list("FFT")
    for relax_cell in (False, True):
        incar = input_set(b.relax_maker(GRAIN_BOUNDARY, relax_cell), cell)["INCAR"]
        assert "LATTICE_CONSTRAINTS" not in incar


def test_doped_core_potcars() -> None:
    vis = input_set(backend().relax_maker(DOPED_CORE), doped_core())
    assert sorted(vis["POTCAR.spec"].split()) == ["Al", "Li_sv", "P", "S"]
    assert "LMAXMIX" not in vis["INCAR"]


def test_length_rule() -> None:
    li2s = load_structure("Li2S")  # fcc primitive cell, a = 4.01 A
    assert length_mesh(li2s, 25) == (6, 6, 6)
    assert length_mesh(li2s, 40) == (10, 10, 10)
    assert length_mesh(li2s, 1) == (1, 1, 1)
    sis2 = load_structure("SiS2")  # 9.58 x 5.61 x 5.55 A
    vis = input_set(backend(kpoint_length=30).static_maker("SiS2"), sis2)
    assert tuple(vis["KPOINTS"].kpts[0]) == (3, 5, 5)
    assert vis["KPOINTS"].style == Kpoints.supported_modes.Gamma


def test_overrides() -> None:
    b = backend(
        incar_updates={"LREAL": "Auto", "ENCUT": 600, "NCORE": 4, "ISIF": 4},
        kpoints={"Li7P3S11": (2, 4, 2), DOPED_CORE: (1, 2, 2), "Li2S": (3, 3, 3)},
    )
    li7 = input_set(b.relax_maker("Li7P3S11"), load_structure("Li7P3S11"))
    assert li7["INCAR"]["LREAL"] == "Auto"
    assert li7["INCAR"]["ENCUT"] == 600
    assert li7["INCAR"]["NCORE"] == 4
    assert li7["INCAR"]["ISIF"] == 4  # incar_updates come last
    assert li7["INCAR"]["GGA"].upper() == "PE"
    assert tuple(li7["KPOINTS"].kpts[0]) == (2, 4, 2)

    core = input_set(b.static_maker(DOPED_CORE), doped_core())
    assert tuple(core["KPOINTS"].kpts[0]) == (1, 2, 2)
    assert core["INCAR"]["ENCUT"] == 600
    # the undoped host follows the doped-core mesh unless given its own
    host = input_set(b.static_maker("Li3PS4"), load_structure("Li3PS4"))
    assert tuple(host["KPOINTS"].kpts[0]) == (1, 2, 2)
    li2s = input_set(b.static_maker("Li2S"), load_structure("Li2S"))
    assert tuple(li2s["KPOINTS"].kpts[0]) == (3, 3, 3)
    gb = input_set(b.static_maker(GRAIN_BOUNDARY), gb_cell())
    assert tuple(gb["KPOINTS"].kpts[0]) == (2, 3, 1)  # no override: by length
    assert b.describe()["kpoints"]["Li7P3S11"] == [2, 4, 2]
    fixed = backend(kpoints={GRAIN_BOUNDARY: (2, 2, 1)})
    gb = input_set(fixed.static_maker(GRAIN_BOUNDARY), gb_cell())
    assert tuple(gb["KPOINTS"].kpts[0]) == (2, 2, 1)


def test_maker_kwargs_and_job() -> None:
    b = backend(vasp_cmd="srun vasp_std")
    maker = b.relax_maker("Li2S")
    assert maker.write_input_set_kwargs == {"potcar_spec": True}
    assert maker.run_vasp_kwargs == {"vasp_cmd": "srun vasp_std"}
    job = maker.make(load_structure("Li2S"))
    assert isinstance(job, Job)
    assert job.name == "relax Li2S"

    plain = VaspBackend(CalculatorSettings(backend="vasp"))
    assert plain.relax_maker("Li2S").run_vasp_kwargs == {}
    assert plain.static_maker("Li2S").write_input_set_kwargs == {}
    assert isinstance(plain.static_maker("Li2S").make(load_structure("Li2S")), Job)


def test_job_serialises() -> None:
    """Makers survive the JSON round trip a remote worker (FireWorks) does."""
    structure = load_structure("Li2S")
    for maker in (backend().relax_maker("Li2S"), backend().static_maker("gb")):
        job = maker.make(structure)
        restored = json.loads(json.dumps(job, cls=MontyEncoder), cls=MontyDecoder)
        rmaker = restored.function.__self__
        assert type(rmaker) is type(maker)
        assert (
            input_set(rmaker, structure)["INCAR"]
            == input_set(maker, structure)["INCAR"]
        )
        assert str(input_set(rmaker, structure)["KPOINTS"]) == str(
            input_set(maker, structure)["KPOINTS"]
        )


def test_write_vasp_inputs(tmp_path: Path) -> None:
    b = backend()
    structure = load_structure("Li2S")
    out = write_vasp_inputs(b, structure, "Li2S", tmp_path / "relax")
    assert sorted(p.name for p in out.iterdir()) == [
        "INCAR",
        "KPOINTS",
        "POSCAR",
        "POTCAR.spec",
    ]
    expected = input_set(b.relax_maker("Li2S"), structure)
    assert Incar.from_file(out / "INCAR") == expected["INCAR"]
    assert tuple(Kpoints.from_file(out / "KPOINTS").kpts[0]) == (6, 6, 6)
    assert (out / "POTCAR.spec").read_text().split() == ["Li_sv", "S"]

    static = write_vasp_inputs(b, structure, "Li2S", tmp_path / "static", relax=False)
    assert Incar.from_file(static / "INCAR")["NSW"] == 0


def test_anisotropic_mesh_warns() -> None:
    """The study's 4x2x2 Li7P3S11 mesh, copied, is transposed for the bundled cell."""
    li7 = load_structure("Li7P3S11")  # a, b, c = 12.9, 6.2, 12.7 A
    gen = backend().relax_maker("Li7P3S11").input_set_generator
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # by length: no warning
        vis = gen.get_input_set(li7, potcar_spec=True)
    assert tuple(vis["KPOINTS"].kpts[0]) == (2, 4, 2)
    copied = backend(kpoints={"Li7P3S11": (4, 2, 2)}).relax_maker("Li7P3S11")
    with pytest.warns(UserWarning, match="anisotropic"):
        copied.input_set_generator.get_input_set(li7, potcar_spec=True)


def test_meshes_follow_cell_lengths() -> None:
    """The default length gives the study's meshes on the study's cells, and the
    same density on supercells (not a copied mesh)."""
    from pymatgen.core import Lattice

    for mesh, abc in STUDY_MESHES.values():
        assert (
            length_mesh(Structure(Lattice.orthorhombic(*abc), ["Li"], [[0] * 3]), 25)
            == mesh
        )
    host = load_structure("Li3PS4")
    sc = host.make_supercell((1, 2, 2), in_place=False)  # the x = 1/16 cell
    assert length_mesh(sc, 25) == (2, 2, 2)
    for cell in (host, sc):
        mesh = length_mesh(cell, 25)
        density = [n * a for n, a in zip(mesh, cell.lattice.abc, strict=True)]
        assert all(20 < d < 33 for d in density)


def test_spin_for_odd_electron_cells_dipole_for_slabs() -> None:
    host = load_structure("Li3PS4")
    vacancy = host.copy()
    vacancy.remove_sites([0])  # a neutral Li vacancy: one electron short
    assert not odd_electrons(host) and odd_electrons(vacancy)
    assert not odd_electrons(doped_core())  # Al3+ on Li + 2 vacancies
    b = backend()
    for maker in (b.relax_maker("Li3PS4", relax_cell=False), b.static_maker("Li3PS4")):
        assert input_set(maker, vacancy)["INCAR"]["ISPIN"] == 2
        assert input_set(maker, host)["INCAR"]["ISPIN"] == 1
        assert "IDIPOL" not in input_set(maker, host)["INCAR"]
    _, neb = b.neb_makers("Li3PS4", 0.05, 100)
    assert neb.input_set_generator.spin_if_odd
    # a slab (vacuum along c): dipole correction along c about the centre of mass
    slab = host.copy()
    slab.make_supercell([1, 1, 2])
    slab.remove_sites([i for i, s in enumerate(slab) if s.frac_coords[2] > 0.5])
    incar = input_set(b.relax_maker(INTERFACE, relax_cell=False), slab)["INCAR"]
    assert incar["IDIPOL"] == 3 and incar["LDIPOL"] is True
    assert 0.15 < incar["DIPOL"][2] < 0.35  # the atoms fill the lower half
    # the user's INCAR wins
    own = backend(incar_updates={"ISPIN": 1, "IDIPOL": 2})
    assert input_set(own.static_maker("Li3PS4"), vacancy)["INCAR"]["ISPIN"] == 1
    incar = input_set(own.relax_maker(INTERFACE, relax_cell=False), slab)["INCAR"]
    assert incar["IDIPOL"] == 2 and "LDIPOL" not in incar


def test_describe() -> None:
    d = backend().describe()
    assert d["backend"] == "vasp" and d["model"] == "PBE"
    assert d["fmax"] == 0.01 and d["encut"] == 520
    assert d["kpoints"] == {} and d["kpoint_length"] == 25
    assert backend().label() == "vasp:PBE"


def test_campaign_export_writes_study_inputs_for_every_relaxation(tmp_path):
    """`lpsflow inputs`: each relaxation of the study campaign gets the study's set."""
    from lpsflow.campaign import load_campaign
    from lpsflow.flows.inputs import export_vasp_inputs

    campaign = load_campaign(Path(__file__).parents[1] / "configs" / "study.yaml")
    campaign.doping.relax_top = 1
    campaign.accelerants = ["Al2S3", "SiS2"]
    campaign.interfaces.film_layers = 1
    dirs = {p.name: p for p in export_vasp_inputs(campaign, tmp_path / "in")}
    assert "relax_Li7P3S11" in dirs and "relax_core_Al2S3_Li-site_0" in dirs
    assert "relax_core_SiS2_P-site_0" in dirs
    for path in dirs.values():
        incar = Incar.from_file(path / "INCAR")
        assert incar["ENCUT"] == 520 and incar["GGA"].upper() == "PE"
        assert incar["ISMEAR"] == 0 and incar["SIGMA"] == pytest.approx(0.05)
        assert incar["EDIFF"] == pytest.approx(1e-5)
        assert incar["EDIFFG"] == pytest.approx(-0.01)
        assert (path / "POTCAR.spec").exists()
    mesh = {n: tuple(Kpoints.from_file(p / "KPOINTS").kpts[0]) for n, p in dirs.items()}
    assert mesh["relax_Li7P3S11"] == (2, 4, 2)  # 6.2 A axis b: 4 k-points along it
    assert mesh["relax_core_Al2S3_Li-site_0"] == (2, 2, 2)  # the 1x2x2 supercell
    assert mesh["relax_Li3PS4"] == (2, 3, 4)
    assert Incar.from_file(dirs["relax_Li3PS4"] / "INCAR")["ISPIN"] == 1
    # surfaces: cell fixed, dipole correction, one k-point along the vacuum
    slab = Incar.from_file(dirs["relax_surface_Li7P3S11_010"] / "INCAR")
    assert slab["ISIF"] == 2 and slab["IDIPOL"] == 3
    assert mesh["relax_surface_Li7P3S11_100"][2] == 1
    # GB cells: the normal length relaxes with the atoms
    gb = Incar.from_file(dirs["relax_gb_homo_Li7P3S11"] / "INCAR")
    assert gb["ISIF"] == 3
    assert [str(v).upper()[0] for v in gb["LATTICE_CONSTRAINTS"]] == list("FFT")
    # interfaces: cell fixed (ISIF 2), one k-point along the normal, and the bottom
    # substrate layers fixed through selective dynamics in the POSCAR
    iface = dirs["relax_interface_hetero_Al2S3_n_1"]
    assert Incar.from_file(iface / "INCAR")["ISIF"] == 2
    assert Incar.from_file(iface / "INCAR")["IDIPOL"] == 3
    assert mesh["relax_interface_hetero_Al2S3_n_1"][2] == 1
    poscar = Poscar.from_file(iface / "POSCAR")
    flags = poscar.structure.site_properties["selective_dynamics"]
    n_fixed = sum(not any(f) for f in flags)
    assert 0 < n_fixed < len(flags)
    film = Structure.from_file(dirs["relax_film_hetero_Al2S3_n_1"] / "POSCAR")
    sub = Structure.from_file(dirs["relax_substrate_hetero_Al2S3_n_1"] / "POSCAR")
    assert film.composition + sub.composition == poscar.structure.composition
    # Li vacancies: cell fixed, one Li fewer than the host cell
    vac = dirs["relax_vacancy_core_Al2S3_0"]
    assert Incar.from_file(vac / "INCAR")["ISIF"] == 2
    assert Incar.from_file(vac / "INCAR")["ISPIN"] == 2  # one electron short
    assert Structure.from_file(vac / "POSCAR").composition["Li"] == 44
    li7_vac = Structure.from_file(dirs["relax_vacancy_Li7P3S11_0"] / "POSCAR")
    assert li7_vac.composition["Li"] % 7 == 6
    core = Structure.from_file(dirs["relax_core_Al2S3_Li-site_0"] / "POSCAR")
    assert core.composition.reduced_formula == "Li45Al(PS4)16"


def test_spanning_hops_need_the_mlip_backend():
    """The number of VASP NEBs is fixed when the flow is built: 'spanning' is
    refused with one clear error, before anything runs."""
    from lpsflow.campaign import load_campaign
    from lpsflow.errors import ConfigError
    from lpsflow.flows.campaign import build_campaign

    campaign = load_campaign(Path(__file__).parents[1] / "configs" / "study.yaml")
    campaign.accelerants = ["Al2S3"]
    campaign.neb.n_hops = "spanning"
    with pytest.raises(ConfigError, match="spanning runs on the MLIP backend"):
        build_campaign(campaign)
