#!/usr/bin/env bash
# The run step of the GitHub Action (action.yml): its inputs, as INPUT_* variables, become an
# axp-conformance command line; the kit's markdown report becomes the job summary (the kit appends
# it to $GITHUB_STEP_SUMMARY itself); the exit code is the step's. Kept in a file so it runs the
# same on a laptop, e.g.  INPUT_TARGET=http://127.0.0.1:8080 bash scripts/conformance-action.sh
set -euo pipefail

out_dir="${INPUT_OUT_DIR:-conformance-report}"
reporters="${INPUT_REPORTERS:-console,json,junit,html,markdown}"
# The markdown report is the job summary: always asked for.
case ",${reporters// /}," in
  *,markdown,*) ;;
  *) reporters="${reporters},markdown" ;;
esac

args=(--reporter "$reporters" --out "$out_dir")
if [[ -n "${INPUT_TARGET:-}" ]]; then args+=(--target "$INPUT_TARGET"); fi
if [[ -n "${INPUT_BASELINE:-}" ]]; then args+=(--baseline "$INPUT_BASELINE"); fi
if [[ -n "${INPUT_ARGS:-}" ]]; then
  # Words separated by spaces; no shell quoting is interpreted (a pattern like IDEM-* stays as written).
  read -r -a extra <<< "$INPUT_ARGS"
  args+=("${extra[@]}")
fi

# The admin key travels in the environment, never on a command line a process list or a log shows.
if [[ -n "${INPUT_ADMIN_KEY:-}" ]]; then
  if [[ -n "${GITHUB_ACTIONS:-}" ]]; then echo "::add-mask::${INPUT_ADMIN_KEY}"; fi
  export AXP_ADMIN_KEY="$INPUT_ADMIN_KEY"
fi

read -r -a command <<< "${INPUT_COMMAND:-npx --no -- axp-conformance}"
code=0
"${command[@]}" "${args[@]}" || code=$?

if [[ -n "${GITHUB_OUTPUT:-}" ]]; then
  { echo "exit-code=${code}"; echo "report-dir=${out_dir}"; } >> "$GITHUB_OUTPUT"
fi
exit "$code"
