#!/bin/sh
# Prints .env.example with every `change-me...` value replaced by a random one: `sh compose/new-env.sh > .env`.
# `make test-e2e` uses it when there is no .env yet; for a stack you keep, choose and store your own secrets.
set -eu
example="$(dirname "$0")/../.env.example"
while IFS= read -r line; do
    case "$line" in
        *=change-me*) printf '%s=%s\n' "${line%%=*}" "$(od -An -tx1 -N24 /dev/urandom | tr -d ' \n')" ;;
        *) printf '%s\n' "$line" ;;
    esac
done < "$example"
