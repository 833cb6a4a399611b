#!/bin/sh
# Fill charts/vitrina/charts/ with the umbrella's subcharts, at the versions in its
# Chart.lock: what `helm dependency build` does, for a lock that names the third-party
# repositories by alias (@nats, @cnpg) instead of by address. The project commits no
# addresses, and Helm cannot build from an alias-only lock ("no repository definition
# for @nats"), so this script reads the lock itself.
# Once per machine: add the official Helm repositories of NATS and CloudNativePG under
# the names "nats" and "cnpg" (`helm repo add nats …`, `helm repo add cnpg …`).
# HELM names the helm binary (default: helm on PATH).
set -eu
HELM=${HELM:-helm}
charts=$(cd "$(dirname "$0")" && pwd)
umbrella="$charts/vitrina"

# name repository version, one dependency a line.
locked() {
  awk '
    /^dependencies:/ { deps = 1; next }
    /^[a-z]/ { if (name != "") print name, repo, ver; name = ""; deps = 0; next }
    deps && /^- name:/ { if (name != "") print name, repo, ver; name = $3; repo = ""; ver = "" }
    deps && /^ +repository:/ { repo = $2; gsub(/["\047]/, "", repo) }
    deps && /^ +version:/ { ver = $2 }
    END { if (name != "") print name, repo, ver }
  ' "$umbrella/Chart.lock"
}

aliases=$(locked | awk '$2 ~ /^@/ { sub(/^@/, "", $2); print $2 }' | sort -u)
if [ -n "$aliases" ]; then
  # shellcheck disable=SC2086  # one argument per repository name
  "$HELM" repo update $aliases
fi

for chart in bot worker api; do
  "$HELM" dependency build "$charts/$chart"
done

rm -rf "$umbrella/charts"
mkdir -p "$umbrella/charts"
locked | while read -r name repo version; do
  case "$repo" in
    file://*) "$HELM" package "$umbrella/${repo#file://}" --destination "$umbrella/charts" ;;
    @*) "$HELM" pull "${repo#@}/$name" --version "$version" --destination "$umbrella/charts" ;;
    *) echo "build-deps: $name: unexpected repository '$repo' in Chart.lock" >&2; exit 1 ;;
  esac
done
