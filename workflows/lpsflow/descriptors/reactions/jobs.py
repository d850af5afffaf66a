"""Reaction-energy job: dE_r per atom of a phase from the relaxed precursors."""

from __future__ import annotations

from typing import Any

from jobflow import OutputReference, job

from lpsflow.analysis.reactions import balance, reaction_energy, sensitivity
from lpsflow.calculators.outputs import CalcSummary, summarize
from lpsflow.descriptors.reactions.schema import ReactionEnergyDoc, ReactionInput
from lpsflow.jobs.identity import kind


def job_ref(job: Any) -> dict[str, Any]:
    """``{"doc": output, "uuid": id}`` of a job (or of its output reference).

    How jobs name the sources of their inputs.
    """
    if isinstance(job, OutputReference):
        return {"doc": job, "uuid": job.uuid}
    return {"doc": job.output, "uuid": job.uuid}


def phase_input(phase: str, formula: str, jobs: list[Any]) -> dict[str, Any]:
    """Argument for :func:`reaction_energy_job`: a species and its candidate jobs.

    ``jobs`` are relax jobs (or their outputs resolved later); the lowest-energy
    converged candidate is used. Their uuids are recorded as the source.
    """
    return {
        "phase": phase,
        "formula": formula,
        "candidates": [job_ref(j) for j in jobs],
    }


def pick_lowest(candidates: list[dict[str, Any]]) -> tuple[int, list[CalcSummary]]:
    """Index of the lowest converged candidate (lowest overall if none converged)."""
    sums = [summarize(c["doc"]) for c in candidates]
    pool = [i for i, s in enumerate(sums) if s.converged] or list(range(len(sums)))
    best = min(pool, key=lambda i: sums[i].energy_per_atom)
    return best, sums


def lowest_of(species: list[dict[str, Any]]) -> dict[str, CalcSummary]:
    """Each :func:`phase_input`'s lowest converged candidate, by phase."""
    out = {}
    for spec in species:
        best, sums = pick_lowest(spec["candidates"])
        out[spec["phase"]] = sums[best]
    return out


@job
@kind("reaction_energy")
def reaction_energy_job(
    label: str,
    product: str,
    species: list[dict[str, Any]],
    reactants: list[str],
    products: list[str],
) -> ReactionEnergyDoc:
    """Balance ``reactants -> products`` and compute dE_r per atom.

    Parameters
    ----------
    label
        Name of the result (e.g. ``core Al2S3 Li-site``).
    product
        Phase whose formation energy this is.
    species
        One :func:`phase_input` per formula in the reaction.
    reactants, products
        Formulas on each side; species the balance does not need are dropped.

    """
    balanced = balance(reactants, products)
    by_formula = {s["formula"]: s for s in species}
    inputs, energies = [], {}
    for formula, coeff in balanced.coefficients.items():
        spec = by_formula[formula]
        best, sums = pick_lowest(spec["candidates"])
        chosen = sums[best]
        energies[formula] = chosen.energy_per_atom
        inputs.append(
            ReactionInput(
                formula=formula,
                phase=spec["phase"],
                coefficient=coeff,
                energy_per_atom=chosen.energy_per_atom,
                converged=chosen.converged,
                job_uuid=spec["candidates"][best]["uuid"],
                calculator=chosen.calculator,
                n_candidates=len(sums),
                candidate_energies=[
                    s.energy_per_atom if s.converged else None for s in sums
                ],
            )
        )
    p2s5 = next((s["formula"] for s in species if s["phase"] == "P2S5"), None)
    terms = " + ".join(
        f"{-c:.6g} {f}" for f, c in balanced.coefficients.items() if c < 0
    )
    prods = " + ".join(
        f"{c:.6g} {f}" for f, c in balanced.coefficients.items() if c > 0
    )
    return ReactionEnergyDoc(
        label=label,
        product=product,
        reaction=f"{terms} -> {prods}",
        energy_per_atom=reaction_energy(balanced, energies),
        converged=all(i.converged for i in inputs),
        inputs=inputs,
        p2s5_sensitivity=sensitivity(balanced, p2s5) if p2s5 else 0.0,
    )
