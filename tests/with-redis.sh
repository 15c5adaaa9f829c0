#!/bin/sh
# Runs a command with a private redis-server on a free loopback port (data in a temporary
# directory, no persistence), exported as AUTHGATE_REDIS_URL; stops it afterwards, also
# when the command fails. AUTHGATE_REQUIRE_REDIS=1 makes every runtime's Redis tests fail
# rather than skip if the URL went missing.
set -eu
server=${AUTHGATE_REDIS_SERVER:-redis-server}
command -v "$server" >/dev/null || { echo "with-redis: $server not found" >&2; exit 1; }
dir=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$server" --port "$port" --bind 127.0.0.1 --save '' --appendonly no --dir "$dir" \
	--logfile "$dir/redis.log" &
pid=$!
cleanup() { kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$dir"; }
trap cleanup EXIT INT TERM
for _ in $(seq 100); do
	redis-cli -p "$port" ping >/dev/null 2>&1 && break
	sleep 0.1
done
redis-cli -p "$port" ping >/dev/null || { echo "with-redis: redis-server did not start" >&2; cat "$dir/redis.log" >&2; exit 1; }
echo "with-redis: redis-server on 127.0.0.1:$port"
# REDIS_URL too: the README's examples read it, as applications do.
export AUTHGATE_REDIS_URL="redis://127.0.0.1:$port" REDIS_URL="redis://127.0.0.1:$port" AUTHGATE_REQUIRE_REDIS=1
"$@"
