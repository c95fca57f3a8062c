#!/usr/bin/env bash
# POST a JSON file (one record or an array) to the app's /record; prints the answer.
set -euo pipefail
url="${CHARIOTS_URL:-http://localhost:8080}"
usage() {
  cat <<'USAGE'
usage: post_record.sh [--url URL] FILE
  POST FILE (a JSON record, either shape, or an array of records; - for stdin) to URL/record
  and print the app's answer: 202 {"id"} / {"ids"}, or the error. Exit 1 unless 2xx.
  --url URL   the app (env CHARIOTS_URL; default http://localhost:8080, as ./chariots up)
  env CHARIOTS_TOKEN: the client token, for a cluster that requires one
example: echo '{"tags":{"k1":"v1"},"seed":9489172654252433228}' | post_record.sh -
USAGE
}
file=""
while [ $# -gt 0 ]; do
  case "$1" in
    -h|--help) usage; exit 0 ;;
    --url) url="$2"; shift 2 ;;
    --url=*) url="${1#--url=}"; shift ;;
    -) file="-"; shift ;;
    -*) echo "post_record.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
    *) file="$1"; shift ;;
  esac
done
[ -n "$file" ] || { usage >&2; exit 2; }
case "$url" in *://*) ;; *) url="http://$url" ;; esac
auth=()
[ -z "${CHARIOTS_TOKEN:-}" ] || auth=(-H "Authorization: Bearer $CHARIOTS_TOKEN")
curl -sS --fail-with-body -XPOST -H 'Content-Type: application/json' "${auth[@]}" --data-binary "@$file" "${url%/}/record"
echo
