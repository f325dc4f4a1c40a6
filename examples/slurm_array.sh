#!/bin/bash
# The paper's grid (3 models x 3 seeds on CIFAR-10, 200 epochs) as a Slurm job array: one run per task, all writing
# into one shared output folder; then the report. Submit both from a login node:
#
#   jid=$(sbatch --parsable examples/slurm_array.sh)
#   sbatch --dependency=afterok:$jid examples/slurm_report.sh
#
# Each task trains the runs whose position in the grid is SLURM_ARRAY_TASK_ID modulo the array size
# (`learnability_run --shard /N`). A task that fails or times out leaves nothing half-written: submit the array again
# and it trains only what is missing. Change the #SBATCH lines for your cluster (partition, account, time).
# Settings through the environment: OUT (output folder), PRESET, DATA (folder holding cifar-10-batches-py),
# EXTRA (more learnability_run options, e.g. "--seeds 0,1,2,3,4").
#SBATCH --job-name=learnability
#SBATCH --array=0-8
#SBATCH --gpus-per-node=1
#SBATCH --cpus-per-task=8
#SBATCH --time=12:00:00
#SBATCH --output=slurm-%A_%a.out
set -euo pipefail
N=${SLURM_ARRAY_TASK_COUNT:?run this as a Slurm array job (sbatch examples/slurm_array.sh)}
# several GPUs per task: one run on all of them, e.g.
#   torchrun --standalone --nproc_per_node="$SLURM_GPUS_ON_NODE" --no-python learnability_run ...
learnability_run --preset "${PRESET:-paper}" --out "${OUT:-learnability_paper}" ${DATA:+--data_path "$DATA"} \
  --shard "/$N" --no_progress ${EXTRA:-}
