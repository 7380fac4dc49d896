# shellcheck shell=bash
# Scenario: Schemathesis against the served OpenAPI document with every check
# and every phase (examples, coverage, fuzzing, stateful), a fixed seed and a
# bounded number of examples per operation, each request with the token its
# operation declares (the admin's, or seeded user 1's buyer token).
# Zero failures of any check: no 5xx, no response outside the documented
# schema, status codes, content types and headers, every schema-valid request
# accepted (positive_data_acceptance) and every schema-invalid one refused.
# About 90 s on an idle 2-core machine, over 240 s under load with the
# buyer and admin auth checks; the outer timeout bounds it at 7 min.
#
# What the run found, and why it passes now:
# - fixed in the server: integer fields refused 2.0 though JSON Schema calls
#   it an integer (src/domain/whole_number.rs); names and emails with control
#   characters were schema-valid yet refused (the schemas now carry the exact
#   pattern, src/domain/catalogue.rs); starts_at before 1970 was refused
#   but undocumented (now a pattern on the year as written). Found beside it
#   by tests/api/routes.rs: utoipa served links in snake case and repeated
#   operationIds (both corrected in src/http/openapi.rs).
# - realistic input, not a server fault (faults/schemathesis_hooks.py): a
#   reused Idempotency-Key answered 422 idempotency_key_reused, as the IETF
#   draft asks, so each distinct request gets its own key; an event larger
#   than its venue (POST /events, PATCH /events/{id}) answered 422
#   capacity_exceeds_venue, a rule on stored data
#   no schema can state, so the hook reads the venue first.
# - tokens: faults/schemathesis.toml gives Schemathesis a credential per
#   security scheme (the admin token; seeded user 1's buyer token), sent as
#   each operation's `security` says; ignored_auth still checks that
#   requests without it or with a wrong one get 401/403.
#
# GET /events/{id}/live is left out: it is a Server-Sent Events stream that
# stays open while the event exists, so every example of a seeded event
# would run into the request timeout. tests/api/live.rs covers it.
readonly SCHEMATHESIS_SEED=1
readonly SCHEMATHESIS_MAX_EXAMPLES=300
readonly SCHEMATHESIS_TIMEOUT_S=420

scenario_schemathesis() {
    local name=schemathesis url base status=0
    url=$(new_database fb_schemathesis)
    seed "$url" --venue-capacity 1000 --events 3 --users 100
    # info: one access-log line per request, counted by verify faults.
    # One token on every request, faster than a buyer's 20/s: lift that limit.
    RUST_LOG=info start_service "$name.service" "$url" FLASHBOOK_RATE_PER_TOKEN=100000
    base=$SERVICE_URL

    info "schemathesis $("$SCHEMATHESIS_BIN" --version 2>/dev/null | awk '{print $NF}'): seed $SCHEMATHESIS_SEED, at most $SCHEMATHESIS_MAX_EXAMPLES examples per operation"
    mkdir -p "$RUN_DIR/$name"
    # Run from the run directory: Schemathesis and Hypothesis keep caches in
    # the working directory.
    (
        cd "$RUN_DIR/$name"
        FLASHBOOK_BASE_URL=$base FLASHBOOK_ADMIN_TOKEN=$ADMIN_TOKEN \
            FLASHBOOK_BUYER_TOKEN=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))[0]["token"])' "$(tokens_file)") \
            SCHEMATHESIS_HOOKS=schemathesis_hooks \
            PYTHONPATH="$FAULTS_DIR${PYTHONPATH:+:$PYTHONPATH}" \
            timeout "$SCHEMATHESIS_TIMEOUT_S" "$SCHEMATHESIS_BIN" --config-file "$FAULTS_DIR/schemathesis.toml" \
            run "$base/api-docs/openapi.json" \
            --checks all --phases examples,coverage,fuzzing,stateful \
            --exclude-path '/events/{id}/live' \
            --seed "$SCHEMATHESIS_SEED" --max-examples "$SCHEMATHESIS_MAX_EXAMPLES" \
            --workers 1 --request-timeout 15 --no-color \
            --report junit --report-junit-path "$RUN_DIR/$name/junit.xml"
    ) >"$RUN_DIR/$name.out" 2>&1 || status=$?
    if ((status != 0)); then
        sed -n '/ FAILURES /,$p' "$RUN_DIR/$name.out" | head -n 150 | sed 's/^/    /'
    else
        grep -A1 '^Test cases:' "$RUN_DIR/$name.out" | sed 's/^/    /'
    fi
    local alive=1
    kill -0 "$SERVICE_PID" 2>/dev/null && curl -fs -o /dev/null --max-time 2 "$base/health" || alive=0

    "$VERIFY_BIN" faults schemathesis --scenario "$name" \
        --output "$RUN_DIR/$name.out" --exit-status "$status" --alive "$alive" \
        --service-log "$RUN_DIR/$name.service.log" --result "$RUN_DIR/$name.result.json"
}
