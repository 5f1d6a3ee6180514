"""The test PostgreSQL server: a private cluster on loopback, started and stopped by its pid."""

from __future__ import annotations

import socket

from tests.servers import PostgresServer, RedisServer


def test_postgres_server_serves_a_new_database_and_stops_by_pid(tmp_path):
    server = PostgresServer().start()
    workdir = server._workdir
    try:
        assert server.host == "127.0.0.1" and server.port > 0 and server.pid is not None
        url = server.create_database("warehouse")
        assert url == f"postgresql://postgres@127.0.0.1:{server.port}/warehouse"
        server.psql("CREATE TABLE t (name text); INSERT INTO t VALUES ('Zoë')", database="warehouse")
        assert server.psql("SELECT name FROM t", database="warehouse").strip() == "Zoë"
        assert server.psql("SELECT current_setting('fsync')").strip() == "off"
    finally:
        server.stop()
    assert server.pid is None
    assert workdir is not None and not workdir.exists()
    with socket.socket() as sock:
        assert sock.connect_ex(("127.0.0.1", server.port)) != 0


def test_postgres_server_fixture_is_shared_and_accepts_connections(postgres_server):
    assert postgres_server.psql("SELECT 1").strip() == "1"
    assert postgres_server.dsn.startswith(f"host=127.0.0.1 port={postgres_server.port} ")


def test_postgres_server_restarts_on_its_data_and_port():
    with PostgresServer() as server:
        server.psql("CREATE TABLE kept (n int); INSERT INTO kept VALUES (7)")
        port, pid = server.port, server.pid
        server.restart()
        assert (server.port, server.pid != pid) == (port, True)
        assert server.psql("SELECT n FROM kept").strip() == "7"


def test_redis_server_answers_on_loopback_restarts_empty_and_stops_by_pid():
    server = RedisServer().start()
    workdir = server._workdir
    try:
        assert server.url() == f"redis://127.0.0.1:{server.port}/0"
        assert server.command("SET", "k", "v") == b"+OK"
        port, pid = server.port, server.pid
        server.restart()
        assert (server.port, server.pid != pid) == (port, True)
        assert server.command("EXISTS", "k") == b":0", "nothing is persisted"
    finally:
        server.stop()
    assert server.pid is None
    assert workdir is not None and not workdir.exists()
    with socket.socket() as sock:
        assert sock.connect_ex(("127.0.0.1", server.port)) != 0
