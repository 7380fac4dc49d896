# shellcheck shell=bash
# Scenario: the attacks of issue 21 against a running service
# (faults/attacker.py): another buyer's token on every by-id route, admin
# lists with a buyer's token, forged, expired, alg-none, unknown-kid and
# garbage tokens, a stolen waiting-room ticket and pass, sign-up probing for
# taken emails, one token's and one address's flood (from 127.0.0.2; the
# bystander books from 127.0.0.3), and docker-compose.yml without each
# secret. Passes when every attack failed. Its self-test is
# attacker_self_test.
scenario_attacker() {
    local name=attacker url
    url=$(new_database fb_attacker)
    start_service "$name.service" "$url" "${ATTACKER_LIMITS[@]}"
    attack_compose_file "$ROOT/docker-compose.yml" "$SERVICE_URL" "$url" \
        --flood-from 127.0.0.2 --bystander-from 127.0.0.3 --result "$RUN_DIR/$name.result.json"
}
