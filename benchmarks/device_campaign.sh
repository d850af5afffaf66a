#!/usr/bin/env bash
# The quick campaign on a GPU machine: GPU with several workers, GPU with one, and the
# same machine's CPU cores, each on a fresh store; then the whole campaign on the GPU.
#
# Run from the repository root of a machine whose python3 has torch (CUDA build) but
# not lpsflow's other dependencies: those travel as wheels in .whl/ (how to fetch
# them: benchmarks/README.md, "GPU"). Writes logs and results JSON to $OUT.
#
#   OUT=/tmp/out bash benchmarks/device_campaign.sh [steps...]
#
# Steps (default: gpu4 cpu8 gpu1 full; also gpu8, cpufull, rerun after full; full8 and
# full8-nobatch: all three on 8 workers, with and without the NEB images batched). Each is bounded by
# STEP_TIMEOUT seconds (default 240) so that one slow step leaves the others time.
set -u
OUT=${OUT:-/tmp/lpsflow-device}
mkdir -p "$OUT"
ROOT=$(pwd)
STEPS=${*:-gpu4 cpu8 gpu1 full}
STEP_TIMEOUT=${STEP_TIMEOUT:-240}
PY=${PYTHON:-python3}

if [ -d .whl ] && ! $PY -c "import chgnet, atomate2" 2>/dev/null; then
    $PY -m pip install -q --no-index --no-deps --no-compile --no-cache-dir \
        --upgrade --target /tmp/site .whl/*.whl || exit 1
    rm -f /tmp/site/pynvml.py  # nvidia-ml-py3's old copy; the machine has its own
    export PYTHONPATH=/tmp/site
fi
export PYTHONPATH=$ROOT/workflows${PYTHONPATH:+:$PYTHONPATH}
export PYTHONUNBUFFERED=1 PYTORCH_NVML_BASED_CUDA_CHECK=1

{
    date -u
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv 2>&1
    nproc
    $PY -c "import torch, chgnet, pymatgen.core, atomate2, jobflow; \
print('torch', torch.__version__, 'cuda', torch.cuda.is_available(), \
'python', __import__('sys').version.split()[0])"
} >"$OUT/machine.txt" 2>&1
cat "$OUT/machine.txt"

# step name -> accelerants, device, workers
run_step() {
    local name=$1 accel=$2 device=$3 workers=$4
    local dir=/tmp/lpsflow-device/$name
    rm -rf "$dir" && mkdir -p "$dir"
    sed -e "s/^accelerants: .*/accelerants: $accel/" \
        -e "s/device: cpu/device: $device/" \
        -e "s#path: lpsflow-store#path: $dir/store#" \
        -e "s#^workdir: .*#workdir: $dir/work#" \
        "$ROOT/configs/quick.yaml" >"$dir/quick.yaml"
    echo "== $name: accelerants $accel, device $device, $workers workers"
    local t0 t1
    t0=$(date +%s%N)
    timeout "$STEP_TIMEOUT" $PY -m lpsflow.cli run "$dir/quick.yaml" \
        --workers "$workers" >"$dir/run.log" 2>&1
    local rc=$?
    t1=$(date +%s%N)
    grep -E "FAILED|finished in" "$dir/run.log" | tee -a "$OUT/summary.txt"
    $PY -m lpsflow.cli status "$dir/quick.yaml" >"$dir/status.txt" 2>&1
    $PY -m lpsflow.cli results "$dir/quick.yaml" -f json -o "$OUT/results-$name.json" \
        >/dev/null 2>&1
    printf '%s rc=%s wall_s=%s\n' "$name" "$rc" "$(( (t1 - t0) / 1000000000 ))" \
        | tee -a "$OUT/summary.txt"
    grep -i "cpu\|force\|jobs\|fail" "$dir/status.txt" | head -16 | tee -a "$OUT/summary.txt"
}

for step in $STEPS; do
    case $step in
        gpu4) run_step gpu4 "[Al2S3]" cuda 4 ;;
        cpu8) run_step cpu8 "[Al2S3]" cpu 8 ;;
        gpu1) run_step gpu1 "[Al2S3]" cuda 1 ;;
        full) run_step full "[Al2S3, Ga2S3, SiS2]" cuda 4 ;;
        gpu8) run_step gpu8 "[Al2S3]" cuda 8 ;;
        full8) run_step full8 "[Al2S3, Ga2S3, SiS2]" cuda 8 ;;
        full8-nobatch)  # the NEB images one by one, one shared calculator
            LPSFLOW_DISABLE=batched_images \
                run_step full8-nobatch "[Al2S3, Ga2S3, SiS2]" cuda 8 ;;
        cpufull) run_step cpufull "[Al2S3, Ga2S3, SiS2]" cpu 8 ;;
        rerun)  # the finished full campaign again: everything is reused
            echo "== rerun of full" | tee -a "$OUT/summary.txt"
            $PY -m lpsflow.cli run /tmp/lpsflow-device/full/quick.yaml --workers 4 2>&1 \
                | grep -E "FAILED|finished in" | tee -a "$OUT/summary.txt" ;;
        cpu2) run_step cpu2 "[Al2S3]" cpu 2 ;;  # for trying the script on a laptop
        *) echo "unknown step $step" ;;
    esac
done
# the last step's log in full (errors of a failed step show here)
cp "/tmp/lpsflow-device/${step}/run.log" "$OUT/last-run.log" 2>/dev/null
