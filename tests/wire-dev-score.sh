#!/usr/bin/env bash
# Ingests ../shared/corpus/wire-dev's files in files.txt order into a fresh
# store and scores it with ../shared/tools/score-groups (the issue's bar:
# B-cubed F1 >= 0.93, pair precision >= 0.95). Usage: tests/wire-dev-score.sh [STORE]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
corpus="$root/../shared/corpus/wire-dev"
store="${1:-$(mktemp -d)/wire-dev.db}"
rm -f "$store" "$store-wal" "$store-shm"
cargo build --release --quiet --manifest-path "$root/Cargo.toml"
cd "$corpus"
mapfile -t files < files.txt
"$root/target/release/feedfold" ingest --db "$store" "${files[@]}" | tail -n 1
"$root/../shared/tools/score-groups" "$corpus/truth.tsv" --db "$store"
