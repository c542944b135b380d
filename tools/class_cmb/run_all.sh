#!/bin/sh
# The CLASS correction of the CMB networks, resumable: a rerun after a kill computes only the
# missing chunks (generate_cmb.py), then fits and writes the shipped weights and the test's
# validation points.
set -e
cd "$(dirname "$0")"
python -W ignore generate_cmb.py valid 60
python -W ignore generate_cmb.py train 400
python train_cmb.py --steps 1500 --save --write-test-data 16
