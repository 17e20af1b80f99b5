#!/usr/bin/env bash
# A throwaway Matrix homeserver (Synapse) for the Matrix tests, on loopback only.
#
#   .ci/synapse.sh start    install on first use, configure, start, wait until it answers
#   .ci/synapse.sh stop     stop the server this script started (by its pid file)
#   .ci/synapse.sh status   say whether it runs
#   .ci/synapse.sh env      print the variables the tests read, ready for `eval`
#
# Environment:
#   HUARONG_SYNAPSE_DIR      where the venv, config, database and logs live
#                            (default /tmp/huarong-synapse; delete it to start from scratch)
#   HUARONG_SYNAPSE_PORT     client port on 127.0.0.1 (default 18008)
#   HUARONG_SYNAPSE_VERSION  Synapse release from PyPI (default 1.163.2)
#   HUARONG_SYNAPSE_SECRET   registration shared secret (default: a fixed test-only value)
#
# Why it looks like this:
# - Synapse lives in a venv of its own: its pinned dependencies must never mix
#   with the project's .venv. 1.163.2 ships binary wheels, so the install needs
#   only PyPI and takes about a minute once; afterwards no network is needed.
# - server_name "localhost", 127.0.0.1 only, no federation, no media, no
#   presence: nothing reaches out and nothing from outside gets in.
# - The listener also serves the `openid` resource (only
#   /_matrix/federation/v1/openid/userinfo, not federation): the web adapter
#   checks a Matrix sign-in's OpenID token there.
# - SQLite, so there is no second database server to set up.
# - Rate limits are lifted (tests register, log in and talk in bursts) and
#   bcrypt_rounds is 4 (register/login take ~20 ms instead of ~300 ms).
# - Accounts are made through shared-secret registration, which is why open
#   registration stays off.
# - Only the Python standard library probes the port, so a fresh machine
#   needs no curl.
set -euo pipefail

DIR=${HUARONG_SYNAPSE_DIR:-/tmp/huarong-synapse}
PORT=${HUARONG_SYNAPSE_PORT:-18008}
VERSION=${HUARONG_SYNAPSE_VERSION:-1.163.2}
SECRET=${HUARONG_SYNAPSE_SECRET:-huarong-test-only-shared-secret}
URL="http://127.0.0.1:$PORT"
PIDFILE="$DIR/synapse.pid"
DATA="$DIR/data"
VENV="$DIR/venv"

say() { printf 'synapse: %s\n' "$*"; }
die() { printf 'synapse: %s\n' "$*" >&2; exit 1; }

# True when the port answers the Matrix client versions request.
serves_matrix() {
    python3 - "$URL/_matrix/client/versions" <<'EOF' >/dev/null 2>&1
import json, sys, urllib.request
with urllib.request.urlopen(sys.argv[1], timeout=2) as response:
    sys.exit(0 if "versions" in json.load(response) else 1)
EOF
}

# The pid from our pid file, printed only when that process is still the Synapse
# this script started from $DIR for $PORT: a stale file, a recycled pid or our
# server on another port must never make us claim or kill the wrong one.
our_pid() {
    [ -f "$PIDFILE" ] || return 1
    local pid port
    read -r pid port <"$PIDFILE" || true
    [ -n "$pid" ] && [ "$port" = "$PORT" ] && kill -0 "$pid" 2>/dev/null || return 1
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null |
        grep -q "synapse.app.homeserver.*$DATA/homeserver.yaml" || return 1
    printf '%s\n' "$pid"
}

install_synapse() {
    local stamp="$VENV/.installed-$VERSION"
    [ -f "$stamp" ] && return 0
    say "installing matrix-synapse==$VERSION into $VENV (once, about a minute)"
    python3 -m venv "$VENV"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-cache-dir \
        "matrix-synapse==$VERSION"
    touch "$stamp"
}

write_config() {
    mkdir -p "$DATA"
    cat >"$DATA/log.yaml" <<EOF
version: 1
formatters: {plain: {format: '%(asctime)s %(name)s %(levelname)s %(message)s'}}
handlers: {file: {class: logging.FileHandler, formatter: plain, filename: $DATA/homeserver.log}}
root: {level: WARNING, handlers: [file]}
disable_existing_loggers: false
EOF
    local unlimited='{per_second: 10000, burst_count: 100000}'
    cat >"$DATA/homeserver.yaml" <<EOF
# Written by .ci/synapse.sh on every start; edits here are lost.
server_name: "localhost"
public_baseurl: "$URL/"
listeners:
  - port: $PORT
    bind_addresses: ["127.0.0.1"]
    type: http
    tls: false
    x_forwarded: false
    resources: [{names: [client, openid], compress: false}]
database: {name: sqlite3, args: {database: "$DATA/homeserver.db"}}
log_config: "$DATA/log.yaml"
media_store_path: "$DATA/media"
signing_key_path: "$DATA/localhost.signing.key"
report_stats: false
registration_shared_secret: "$SECRET"
enable_registration: false
macaroon_secret_key: "huarong-test-only-macaroon-key"
form_secret: "huarong-test-only-form-secret"
federation_domain_whitelist: []
trusted_key_servers: []
suppress_key_server_warning: true
enable_media_repo: false
url_preview_enabled: false
presence: {enabled: false}
bcrypt_rounds: 4
rc_message: $unlimited
rc_registration: $unlimited
rc_login: {address: $unlimited, account: $unlimited, failed_attempts: $unlimited}
rc_joins: {local: $unlimited, remote: $unlimited}
rc_joins_per_room: $unlimited
rc_invites: {per_room: $unlimited, per_user: $unlimited, per_issuer: $unlimited}
rc_room_creation: $unlimited
rc_admin_redaction: $unlimited
EOF
}

start() {
    local pid
    if serves_matrix; then
        if pid=$(our_pid); then
            say "already running at $URL (pid $pid)"
            echo "$URL"
            return 0
        fi
        die "$URL already serves Matrix, but not from $DIR; stop that server or pick another HUARONG_SYNAPSE_PORT"
    fi
    if [ -f "$PIDFILE" ]; then
        local other_pid other_port
        read -r other_pid other_port <"$PIDFILE" || true
        if [ -n "$other_pid" ] && kill -0 "$other_pid" 2>/dev/null &&
            tr '\0' ' ' <"/proc/$other_pid/cmdline" 2>/dev/null | grep -q synapse.app.homeserver; then
            die "$DIR already serves port ${other_port:-?} (pid $other_pid); one directory, one server"
        fi
    fi
    install_synapse
    write_config
    # Creates the signing key on the first start only; it exits without serving.
    "$VENV/bin/python" -m synapse.app.homeserver -c "$DATA/homeserver.yaml" --generate-keys
    "$VENV/bin/python" -m synapse.app.homeserver -c "$DATA/homeserver.yaml" \
        </dev/null >"$DATA/stdout.log" 2>&1 &
    pid=$!
    echo "$pid $PORT" >"$PIDFILE"
    # Synapse is up in 2-3 s on this kind of machine; allow 60 s for slow CI runners.
    for _ in $(seq 1 300); do
        if serves_matrix; then
            say "up at $URL (pid $pid, logs in $DATA)"
            echo "$URL"
            return 0
        fi
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.2
    done
    printf 'synapse: did not come up at %s; its output follows\n' "$URL" >&2
    cat "$DATA/stdout.log" "$DATA/homeserver.log" >&2 2>/dev/null || true
    stop
    exit 1
}

stop() {
    local pid
    if ! pid=$(our_pid); then
        say "not running (from $DIR on port $PORT)"
        return 0
    fi
    kill "$pid"
    for _ in $(seq 1 100); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null
    rm -f "$PIDFILE"
    say "stopped (pid $pid)"
}

status() {
    local pid
    if pid=$(our_pid); then
        say "running at $URL (pid $pid)"
    elif serves_matrix; then
        say "$URL serves Matrix, but not from $DIR"
    else
        say "not running"
        return 1
    fi
}

print_env() {
    printf 'export HUARONG_TEST_MATRIX_URL=%s\n' "$URL"
    printf 'export HUARONG_TEST_MATRIX_SECRET=%s\n' "$SECRET"
}

case "${1:-}" in
    start | stop | status) "$1" ;;
    env) print_env ;;
    *) die "usage: $0 start|stop|status|env" ;;
esac
