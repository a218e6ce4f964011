#!/usr/bin/env bash
# CI: the local services the suite talks to (PostgreSQL, Redis, Mosquitto) must be up.
# The CI machine starts them before a run; should one have stopped (a crashed broker, say),
# start it again with the machine's own command, as root and only where it is installed.
# Whatever is still unreachable afterwards makes the tests that need it fail loudly.
set -uo pipefail

reachable() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_for_port() {
	for _ in $(seq 1 30); do
		reachable "$1" && return 0
		sleep 1
	done
	return 1
}

ensure() {
	local name=$1 port=$2
	shift 2
	if reachable "$port"; then
		echo "$name: up on 127.0.0.1:$port"
		return
	fi
	if [ "$(id -u)" != 0 ] || ! command -v "$1" >/dev/null; then
		echo "$name: NOT reachable on 127.0.0.1:$port and cannot be started here" >&2
		return
	fi
	echo "$name: not reachable on 127.0.0.1:$port, starting it: $*" >&2
	"$@" || true
	if wait_for_port "$port"; then echo "$name: up on 127.0.0.1:$port"; else echo "$name: still NOT reachable" >&2; fi
}

ensure_postgres() {
	if reachable 5432; then
		echo "PostgreSQL: up on 127.0.0.1:5432"
		return
	fi
	local version
	version=$(ls /etc/postgresql 2>/dev/null | sort -V | tail -n 1)
	if [ -z "$version" ] || ! command -v pg_ctlcluster >/dev/null; then
		echo "PostgreSQL: NOT reachable on 127.0.0.1:5432 and cannot be started here" >&2
		return
	fi
	ensure PostgreSQL 5432 pg_ctlcluster --skip-systemctl-redirect "$version" main start
}

ensure_postgres
ensure Redis 6379 redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" \
	--appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log
ensure Mosquitto 1883 mosquitto -d -c /etc/mosquitto/mosquitto.conf
exit 0
