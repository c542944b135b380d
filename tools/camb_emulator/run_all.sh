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
# More points where the w0-wa errors are largest (w0 + wa -> 0; BENCHMARKS.md): not yet in
# the shipped weights.
python -W ignore generate.py w edge 800
