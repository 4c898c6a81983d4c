#!/usr/bin/env bash
# Placeholder until the LAPACK/SIMD build lands (issue: foundation).
echo "wasm/build.sh: nothing to build yet" >&2
