"""Adaptive sampling: rounds that add samples until each verdict is decided.

With ``sampling: {mode: adaptive}`` every accelerant gets a round job after its
descriptors (:mod:`lpsflow.sampling.rounds`). It builds the accelerant's rows
from the outputs, evaluates the ranking criteria, and for each criterion left
undecided inside its spread raises the settings that sample more of what it
rests on (:attr:`lpsflow.descriptors.base.Criterion.samples`: the next dopant
arrangements, interface registries, Li sites), then adds the jobs that build
brings (an expanding job: :mod:`lpsflow.dispatch.expansion`) and the next round,
until every criterion is decided, nothing samples further, or the accelerant's
budget is spent. :mod:`lpsflow.sampling.read` gives results and reports the last
round's jobs and the rounds' record.
"""
