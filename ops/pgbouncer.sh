#!/usr/bin/env bash
# Start PgBouncer in transaction mode in front of a PostgreSQL server, as a daemon.
#   ops/pgbouncer.sh DIR LISTEN_PORT [SERVER_HOST [SERVER_PORT]]
# DIR receives pgbouncer.ini, userlist.txt, the log and the pid file; stop it with
#   kill "$(cat DIR/pgbouncer.pid)"
# Every database name is passed through to the server (`* =`), so test runs that create a
# database of their own reach it too. auth_type=trust: loopback CI and benchmarks only.
set -euo pipefail
dir=$1
port=$2
server_host=${3:-127.0.0.1}
server_port=${4:-5432}
pool_size=${PGBOUNCER_POOL_SIZE:-20}

mkdir -p "$dir"
cat >"$dir/pgbouncer.ini" <<INI
[databases]
* = host=$server_host port=$server_port

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $port
unix_socket_dir =
auth_type = trust
auth_file = $dir/userlist.txt
pool_mode = transaction
; asyncpg through SQLAlchemy prepares every statement under a unique name; the last one
; of each transaction would stay on its server connection (measured: one per transaction)
; until the connection closes. Dropped when each transaction gives its connection back.
server_reset_query = DEALLOCATE ALL
server_reset_query_always = 1
default_pool_size = $pool_size
max_client_conn = 1000
ignore_startup_parameters = extra_float_digits
logfile = $dir/pgbouncer.log
pidfile = $dir/pgbouncer.pid
INI
printf '"postgres" ""\n' >"$dir/userlist.txt"

# PgBouncer refuses to run as root.
if [ "$(id -u)" = 0 ]; then
    chown -R postgres "$dir"
    runuser -u postgres -- pgbouncer -d "$dir/pgbouncer.ini"
else
    pgbouncer -d "$dir/pgbouncer.ini"
fi

for _ in $(seq 1 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
        exit 0
    fi
    sleep 0.1
done
echo "PgBouncer did not listen on 127.0.0.1:$port; see $dir/pgbouncer.log" >&2
exit 1
