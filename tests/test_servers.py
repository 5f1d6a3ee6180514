"""The test PostgreSQL server: a private cluster on loopback, started and stopped by its pid."""

from __future__ import annotations

import socket

from tests.servers import PostgresServer


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
