#!/bin/sh
# Grouping with and without full-text fetching, on the same real articles
# delivered two ways (see ../shared/corpus/real-dev/README.md):
# `ecbplus` (full text in the feed), and `ecbplus-summaries` (summaries
# only) with its articles/ folder served on 127.0.0.1 and the links of a
# copy of its feeds rewritten to that server, fetched with --allow-private.
#
# Usage: tests/tools/full-text-eval.sh [extra eval arguments, e.g. --json]
# Environment: FEEDFOLD (default target/release/feedfold), REAL_DEV
# (default ../shared/corpus/real-dev), PORT (default 18917). Needs python3
# for the static file server.
set -eu
bin=${FEEDFOLD:-target/release/feedfold}
real=${REAL_DEV:-../shared/corpus/real-dev}
port=${PORT:-18917}
work=$(mktemp -d)
python3 -m http.server --bind 127.0.0.1 --directory "$real/ecbplus-summaries/articles" "$port" \
    >/dev/null 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; rm -rf "$work"' EXIT
cp -r "$real/ecbplus-summaries" "$work/summaries"
rm -rf "$work/summaries/articles"
find "$work/summaries" -type f \( -name '*.xml' -o -name truth.tsv \) -exec \
    sed -i "s#http://articles.feedfold.test/#http://127.0.0.1:$port/#g" {} +
sleep 1
echo "== ecbplus (full text in the feed)"
"$bin" eval "$@" "$real/ecbplus"
echo "== ecbplus-summaries, no fetching"
"$bin" eval "$@" "$work/summaries"
echo "== ecbplus-summaries, --full-text (articles from 127.0.0.1:$port)"
"$bin" --allow-private eval --full-text "$@" "$work/summaries"
