#!/bin/sh
# The whole training/validation set, resumable: a rerun after a kill computes only the
# missing chunks. Staged so that each stage is usable on its own. The EDE training set grows
# before the w one: its GP is data-limited (hold-out errors, model card).
set -e
cd "$(dirname "$0")"
python -W ignore generate.py w train 600
python -W ignore generate.py w edge 200
python -W ignore generate.py w valid 200
python -W ignore generate.py ede train 600
python -W ignore generate.py ede valid 200
python -W ignore generate.py ede train 1000
python -W ignore generate.py w train 1000
python -W ignore generate.py w edge 400
# More points where the errors are largest (BENCHMARKS.md): w0 + wa -> 0, and large fEDE
# with little cold dark matter.
python -W ignore generate.py w edge 800
python -W ignore generate.py w edge2 400
python -W ignore generate.py ede edge 200
# EDE at the omega_cdm edge, then at early z_c there (where the held-out points above 1 % were)
python -W ignore generate.py ede edge2 100
python -W ignore generate.py ede edge3 120
# held-out points of the edge3 sub-box, drawn after choosing it (validate_extended.py pk ede corner)
python -W ignore generate.py ede corner 40
# the corner's points above 1 % were there; then fresh held-out points of the edge3 sub-box
python -W ignore generate.py ede edge4 120
python -W ignore generate.py ede corner2 40
# The shipped weights
python train.py w --steps 300 --save
python train.py ede --steps 1000 --groups 1,1,2,4,56 --save
