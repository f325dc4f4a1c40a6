#!/bin/bash
# The report of the grid that examples/slurm_array.sh trained: Table 1 with intervals, Figure 1, every score.
# Submit it to start after the array:  sbatch --dependency=afterok:<array job id> examples/slurm_report.sh
# Give it the same OUT, PRESET, DATA and EXTRA as the array (the folder refuses another configuration).
#SBATCH --job-name=learnability-report
#SBATCH --cpus-per-task=4
#SBATCH --time=1:00:00
#SBATCH --output=slurm-%j-report.out
set -euo pipefail
learnability_run --preset "${PRESET:-paper}" --out "${OUT:-learnability_paper}" ${DATA:+--data_path "$DATA"} \
  --report_only ${EXTRA:-}
